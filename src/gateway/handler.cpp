#include "gateway/handler.h"

#include <algorithm>
#include <boost/json.hpp>

#include "gateway/request.h"

namespace carve::gateway {
namespace {

Decision Answer(int status, std::string body, std::string content_type = "application/json") {
  Decision d;
  d.status = status;
  d.body = std::move(body);
  d.content_type = std::move(content_type);
  return d;
}

Decision Error(ErrorKind kind, std::string message) {
  Decision d;
  d.status = InfoFor(kind).status;
  d.error = kind;
  d.body = std::move(message);
  return d;
}

Decision NoSuchModel(const std::string& model) {
  return Error(ErrorKind::kModelNotFound,
               "The model '" + Clip(model) + "' does not exist or you do not have access to it.");
}

using ModelStates = std::map<std::string, std::string>;

std::shared_ptr<const ModelStates> StatesOf(const GatewayView& g) {
  auto states = g.states ? g.states() : nullptr;
  return states ? states : std::make_shared<const ModelStates>();
}

// "resident" with a ready replica; else what carve up says of an on-demand
// model ("cold", "loading"); else a pinned model's engine is on its way.
std::string StateOf(const ModelPool& pool, const ModelStates& states) {
  if (pool.any_ready()) return "resident";
  auto it = states.find(pool.name());
  return it != states.end() ? it->second : "loading";
}

// A model card: the engine's own when the prober fetched it, else a minimal
// one; with carve's own field, `carve.state`, which OpenAI clients ignore.
std::string Card(const ModelPool& pool, int64_t created, const ModelStates& states) {
  boost::json::object o;
  for (const auto& r : pool.replicas()) {
    boost::json::error_code ec;
    auto card = boost::json::parse(r->card(), ec);
    if (!ec && card.is_object()) {
      o = std::move(card.as_object());
      break;
    }
  }
  if (o.empty())
    o = {{"id", pool.name()}, {"object", "model"}, {"created", created}, {"owned_by", "carve"}};
  o["carve"] = {{"state", StateOf(pool, states)}};
  return boost::json::serialize(o);
}

Decision ListModels(const GatewayView& g, const ApiKey* key) {
  auto states = StatesOf(g);
  std::string body = R"({"object":"list","data":[)";
  bool first = true;
  for (const auto& pool : g.router.Pools()) {
    if (!KeyRing::Allows(key, pool->name())) continue;
    body += (first ? "" : ",") + Card(*pool, g.created, *states);
    first = false;
  }
  return Answer(200, body + "]}");
}

Decision GetModel(const GatewayView& g, const ApiKey* key, const std::string& id) {
  auto pool = g.router.Find(id);
  if (!pool || !KeyRing::Allows(key, id)) return NoSuchModel(id);
  return Answer(200, Card(*pool, g.created, *StatesOf(g)));
}

// Ready once probed, not draining, and every pinned model has a healthy
// replica. An on-demand model need not: cold is its resting state, and its
// requests load it; its entry says its state instead.
Decision Ready(const GatewayView& g) {
  auto states = StatesOf(g);
  boost::json::object models;
  bool ready = g.probed && !g.draining;
  for (const auto& pool : g.router.Pools()) {
    int healthy = 0, total = 0;
    for (const auto& r : pool->replicas()) ++total, healthy += r->healthy();
    boost::json::object m{{"healthy", healthy}, {"replicas", total}};
    const bool on_demand = states->count(pool->name()) > 0;
    if (on_demand) m["state"] = StateOf(*pool, *states);
    models[pool->name()] = std::move(m);
    ready = ready && (healthy > 0 || on_demand);
  }
  boost::json::object o{{"ready", ready}, {"draining", g.draining}, {"models", std::move(models)}};
  return Answer(ready ? 200 : 503, boost::json::serialize(o));
}

bool IsUi(Route route) {
  return route == Route::kUiFile || route == Route::kUiState || route == Route::kUiEvents;
}

// Who may see the dashboard: anyone when keys are off, else an admin key,
// sent as a bearer key (scripts) or as the password of HTTP Basic (browsers,
// which then send it with every request to the page, its events too).
// Refuses with the reason, or says which key it was.
std::pair<std::optional<Decision>, const ApiKey*> UiAccess(const GatewayView& g,
                                                           const RequestView& r) {
  if (!g.status)
    return {Error(ErrorKind::kRouteNotFound,
                  "This gateway runs alone (carve gateway) and has no dashboard; carve up serves "
                  "one at /ui, with the slices it runs."),
            nullptr};
  if (!g.keys.enabled()) return {std::nullopt, nullptr};
  const ApiKey* key = g.keys.Find(PresentedKey(r.authorization, r.x_api_key));
  if (!key)
    if (std::string password = BasicPassword(r.authorization); !password.empty())
      key = g.keys.Find(password);
  if (!key)
    return {Error(ErrorKind::kDashboardUnauthorized,
                  "The dashboard needs an admin API key: a browser asks for it (any user name, "
                  "the key as the password); scripts send 'Authorization: Bearer KEY'."),
            nullptr};
  if (!key->admin)
    return {Error(ErrorKind::kForbidden, "The key '" + key->name +
                                             "' may not see the dashboard; use a key marked "
                                             "'admin: true' (docs/observe.md)."),
            key};
  return {std::nullopt, key};
}

std::string_view ContentTypeOf(std::string_view file) {
  if (file.ends_with(".html")) return "text/html; charset=utf-8";
  if (file.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (file.ends_with(".css")) return "text/css; charset=utf-8";
  if (file.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// The page may load only its own files and talk only to its own origin.
void AddUiHeaders(Decision& d) {
  d.headers = {{"Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; "
                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-store"}};
}

Decision Ui(const GatewayView& g, const RouteMatch& m) {
  Decision d;
  if (m.route == Route::kUiEvents) {
    d.events = true;
    return d;
  }
  if (m.route == Route::kUiState) {
    d = Answer(200, g.status());
  } else {
    const auto& files = EmbeddedUiFiles();
    auto it = std::find_if(files.begin(), files.end(),
                           [&](const auto& f) { return f.first == m.ui_file; });
    if (it == files.end())
      return Error(ErrorKind::kRouteNotFound,
                   "The dashboard has no file '" + Clip(m.ui_file) + "'; open /ui.");
    d = Answer(200, std::string(it->second), std::string(ContentTypeOf(it->first)));
  }
  AddUiHeaders(d);
  return d;
}

// The gateway's own routes; nullopt for the ones that need a key.
std::optional<Decision> Open(const GatewayView& g, const RequestView& r, Route route) {
  switch (route) {
    case Route::kHealth:
      return Answer(200, R"({"status":"ok"})");
    case Route::kReady:
      return Ready(g);
    case Route::kMetrics:
      return Answer(200, g.metrics ? g.metrics() : "", "text/plain; version=0.0.4; charset=utf-8");
    case Route::kUnknown:
      return Error(ErrorKind::kRouteNotFound,
                   "Unknown route " + Clip(r.method, 20) + " " + Clip(r.target) + ".");
    case Route::kWrongMethod:
      return Error(ErrorKind::kMethodNotAllowed,
                   Clip(r.method, 20) + " is not allowed on " + Clip(r.target) + ".");
    default:
      return std::nullopt;
  }
}

Decision Unauthorized() {
  return Error(ErrorKind::kUnauthorized,
               "Missing or invalid API key; send it as 'Authorization: Bearer KEY'.");
}

// New work for an engine is refused once the gateway drains; what it already
// accepted finishes.
Decision Draining() {
  return Error(ErrorKind::kDraining,
               "The gateway is shutting down and takes no new requests; retry shortly.");
}

}  // namespace

std::optional<Decision> DecideFromHead(const GatewayView& g, const RequestView& r) {
  RouteMatch m = MatchRoute(r.method, r.target);
  if (auto d = Open(g, r, m.route)) {
    if (d->error) return d;
    return std::nullopt;  // answered after the body, like any other
  }
  if (IsUi(m.route)) return UiAccess(g, r).first;
  if (g.keys.enabled() && !g.keys.Find(PresentedKey(r.authorization, r.x_api_key)))
    return Unauthorized();
  if (g.draining && m.route == Route::kModelAddressed) return Draining();
  return std::nullopt;
}

Decision Decide(const GatewayView& g, const RequestView& r) {
  RouteMatch m = MatchRoute(r.method, r.target);
  if (auto d = Open(g, r, m.route)) return *d;
  if (IsUi(m.route)) {
    auto [refusal, key] = UiAccess(g, r);
    Decision d = refusal ? std::move(*refusal) : Ui(g, m);
    d.key = key;
    return d;
  }
  const ApiKey* key = nullptr;
  if (g.keys.enabled()) {
    key = g.keys.Find(PresentedKey(r.authorization, r.x_api_key));
    if (!key) return Unauthorized();
  }
  Decision d = [&] {
    if (m.route == Route::kListModels) return ListModels(g, key);
    if (m.route == Route::kGetModel) return GetModel(g, key, m.model_id);
    if (g.draining) return Draining();
    ModelOrError mo = ExtractModel(r.content_type, r.body);
    if (!mo.ok()) return Error(*mo.error, mo.message);
    Decision p = g.router.Find(mo.model) && KeyRing::Allows(key, mo.model) ? Decision{}
                                                                           : NoSuchModel(mo.model);
    p.proxy = !p.error;
    p.model = mo.model;
    return p;
  }();
  d.key = key;
  return d;
}

}  // namespace carve::gateway
