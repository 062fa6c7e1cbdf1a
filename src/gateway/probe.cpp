// Active health probes: every replica, every health.interval_ms, concurrently.
// A replica that answers its health path with 200 is (back) in rotation; one
// that does not is out. The first successful probe also fetches the engine's
// model card, which /v1/models then serves as the engine wrote it.
#include "gateway/probe.h"

#include <boost/json.hpp>

namespace carve::gateway::net {
namespace {

struct Answer {
  int status = 0;  // 0: no answer
  std::string body;
  std::string error;
};

Task<Answer> Get(Worker& wk, const Endpoint& e, const std::string& target, int timeout_ms) {
  Answer a;
  beast::error_code ec;
  auto address = asio::ip::make_address(e.host, ec);
  tcp::endpoint ep;
  if (ec) {
    Resolver resolver(wk.ioc);
    auto [rec, results] = co_await resolver.async_resolve(e.host, std::to_string(e.port), kTuple);
    if (rec || results.empty()) co_return Answer{0, {}, "cannot resolve " + e.host};
    ep = *results.begin();
  } else {
    ep = tcp::endpoint(address, e.port);
  }
  Conn c(wk);
  c.expires_after(std::chrono::milliseconds(timeout_ms));
  auto why = [&](beast::error_code ec) {
    return c.timed_out() ? "no answer within " + std::to_string(timeout_ms) + " ms" : ec.message();
  };
  auto [cec] = co_await c.socket().async_connect(ep, kTuple);
  if (cec) co_return Answer{0, {}, why(cec)};
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, e.host_header);
  req.keep_alive(false);
  auto [wec, wn] = co_await http::async_write(c.socket(), req, kTuple);
  if (wec) co_return Answer{0, {}, why(wec)};
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(4 << 20);
  auto [rec, rn] = co_await http::async_read(c.socket(), buf, p, kTuple);
  if (rec) co_return Answer{0, {}, why(rec)};
  a.status = p.get().result_int();
  a.body = std::move(p.get().body());
  co_return a;
}

// The card whose id is `model` in an engine's /v1/models answer, or "".
std::string FindCard(const std::string& body, const std::string& model) {
  boost::json::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return {};
  auto* data = doc.as_object().if_contains("data");
  if (!data || !data->is_array()) return {};
  for (const auto& card : data->as_array()) {
    if (!card.is_object()) continue;
    auto* id = card.as_object().if_contains("id");
    if (id && id->is_string() && id->as_string() == model) return boost::json::serialize(card);
  }
  return {};
}

Task<void> ProbeOne(Worker& wk, std::shared_ptr<ModelPool> pool, std::shared_ptr<Replica> r,
                    HealthConfig h) {
  Answer a = co_await Get(wk, r->endpoint(), h.path, h.timeout_ms);
  if (a.status == 200) {
    if (!r->healthy()) pool->MarkUp(r.get());
    if (r->card().empty()) {
      Answer models = co_await Get(wk, r->endpoint(), "/v1/models", h.timeout_ms);
      if (models.status == 200) r->set_card(FindCard(models.body, r->backend().model));
    }
  } else if (r->healthy()) {
    pool->MarkDown(r.get());
  }
}

}  // namespace

Task<void> RunProber(GatewayState& st, Worker& wk) {
  Timer timer(wk.ioc);
  for (;;) {
    auto snap = st.snapshot();
    const HealthConfig& h = snap->config.health;
    auto pending = std::make_shared<int>(0);
    Timer done(wk.ioc);
    done.expires_at(Timer::time_point::max());
    for (const auto& pool : st.router.Pools())
      for (const auto& r : pool->replicas()) {
        ++*pending;
        asio::co_spawn(wk.ioc, ProbeOne(wk, pool, r, h),
                       [pending, &done](const std::exception_ptr&) {
                         if (--*pending == 0) done.cancel();
                       });
      }
    if (*pending > 0) co_await done.async_wait(kTuple);
    st.probed_once.store(true);
    timer.expires_after(std::chrono::milliseconds(h.interval_ms));
    auto [ec] = co_await timer.async_wait(kTuple);
    if (ec) co_return;
  }
}

}  // namespace carve::gateway::net
