#include "gateway/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "util/format_version.h"
#include "util/read_file.h"
#include "util/yaml_fields.h"

namespace carve::gateway {
namespace {

// The file being read and where its config sits in it: "" for a gateway
// config of its own, "gateway." for carve.yaml's gateway: section.
struct Reader {
  const std::string& file;
  std::string prefix;

  // The mapping `name` (a path below the config: "limits", "models[0]").
  yaml::Fields Map(const YAML::Node& n, const std::string& name) const {
    return yaml::Fields(n, file, Name(name), "docs/gateway.md");
  }
  std::string Name(const std::string& name) const {
    if (name.empty()) return prefix.empty() ? "the gateway config" : "gateway";
    return prefix + name;
  }
  Status Error(const YAML::Node& n, const std::string& what) const {
    return yaml::ErrorAt(file, n, what, "See docs/gateway.md for every key and its default.");
  }
};

Status ParseListen(const Reader& r, const YAML::Node& n, GatewayConfig& c) {
  size_t colon = c.listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == c.listen.size())
    return r.Error(n, "listen '" + c.listen + "' must be HOST:PORT, e.g. 127.0.0.1:8000");
  c.listen_host = c.listen.substr(0, colon);
  if (c.listen_host.size() > 2 && c.listen_host.front() == '[')  // [::1]:8000
    c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
  try {
    int port = std::stoi(c.listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    c.listen_port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    return r.Error(n, "listen '" + c.listen + "' has a bad port");
  }
  return Status::Ok();
}

Status ParseReplica(const Reader& r, const YAML::Node& n, const std::string& model,
                    const std::string& where, std::vector<Backend>& out) {
  Backend b;
  b.model = model;
  if (n.IsScalar()) {
    b.url = n.Scalar();  // the short form: a bare URL
  } else {
    yaml::Fields f = r.Map(n, where);
    CARVE_RETURN_IF_ERROR(f.Check({"url", "gpu", "slice"}));
    CARVE_RETURN_IF_ERROR(f.Str("url", &b.url));
    CARVE_RETURN_IF_ERROR(f.Str("gpu", &b.gpu));
    CARVE_RETURN_IF_ERROR(f.Str("slice", &b.slice));
  }
  if (b.url.empty()) return r.Error(n, r.Name(where) + " has no url");
  auto endpoint = ParseUrl(b.url);
  if (!endpoint.ok()) return r.Error(n, endpoint.status().message());
  for (const auto& other : out)
    if (other.url == b.url)
      return r.Error(n, r.Name(where) + ": url " + b.url + " is listed twice");
  out.push_back(std::move(b));
  return Status::Ok();
}

Status ParseModel(const Reader& r, const YAML::Node& n, const std::string& where, ModelConfig& m) {
  yaml::Fields f = r.Map(n, where);
  CARVE_RETURN_IF_ERROR(f.Check({"name", "replicas", "max_in_flight", "max_queue"}));
  CARVE_RETURN_IF_ERROR(f.Str("name", &m.name));
  if (m.name.empty())
    return r.Error(n, r.Name(where) + " has no name (the id clients send as model)");
  CARVE_RETURN_IF_ERROR(f.Whole("max_in_flight", &m.limits.max_in_flight));
  CARVE_RETURN_IF_ERROR(f.Whole("max_queue", &m.limits.max_queue));
  YAML::Node reps = n["replicas"];
  if (!reps.IsDefined() || !reps.IsSequence() || reps.size() == 0)
    return r.Error(reps.IsDefined() ? reps : n,
                   r.Name(where) + ".replicas must list at least one url");
  for (size_t i = 0; i < reps.size(); ++i) {
    std::string w = where + ".replicas[" + std::to_string(i) + "]";
    CARVE_RETURN_IF_ERROR(ParseReplica(r, reps[i], m.name, w, m.replicas));
  }
  return Status::Ok();
}

Status ParseKey(const Reader& r, const YAML::Node& n, const std::string& where, ApiKey& k) {
  yaml::Fields f = r.Map(n, where);
  CARVE_RETURN_IF_ERROR(f.Check({"name", "sha256", "models", "admin"}));
  std::optional<bool> admin;
  CARVE_RETURN_IF_ERROR(f.OptBool("admin", &admin));
  k.admin = admin.value_or(false);
  CARVE_RETURN_IF_ERROR(f.Str("name", &k.name));
  CARVE_RETURN_IF_ERROR(f.Str("sha256", &k.sha256));
  std::transform(k.sha256.begin(), k.sha256.end(), k.sha256.begin(), ::tolower);
  if (k.name.empty()) return r.Error(n, r.Name(where) + " has no name");
  bool hex = k.sha256.size() == 64 &&
             std::all_of(k.sha256.begin(), k.sha256.end(), [](char c) { return std::isxdigit(c); });
  if (!hex)
    return r.Error(n[k.sha256.empty() ? "name" : "sha256"],
                   r.Name(where) +
                       ".sha256 must be 64 hex digits: the SHA-256 of the key "
                       "(printf %s KEY | sha256sum), never the key itself");
  YAML::Node models = n["models"];
  if (!models.IsDefined() || !models.IsSequence() || models.size() == 0)
    return r.Error(
        models.IsDefined() ? models : n,
        r.Name(where) + ".models must list the models this key may use ([\"*\"] for all)");
  return f.StrList("models", &k.models);
}

template <typename T, typename Fn>
Status ParseList(const Reader& r, const YAML::Node& root, const char* key, Fn parse,
                 std::vector<T>& out) {
  YAML::Node list = root[key];
  if (!list.IsDefined() || list.IsNull()) return Status::Ok();
  if (!list.IsSequence()) return r.Error(list, r.Name(key) + " must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    T item;
    CARVE_RETURN_IF_ERROR(
        parse(r, list[i], std::string(key) + "[" + std::to_string(i) + "]", item));
    out.push_back(std::move(item));
  }
  return Status::Ok();
}

Status ParseLimits(const Reader& r, const YAML::Node& n, GatewayConfig& c) {
  if (!n.IsDefined() || n.IsNull()) return Status::Ok();
  yaml::Fields f = r.Map(n, "limits");
  CARVE_RETURN_IF_ERROR(f.Check({"max_body_bytes", "max_header_bytes", "max_connections"}));
  CARVE_RETURN_IF_ERROR(f.Whole<uint64_t>("max_body_bytes", &c.max_body_bytes, 1, 1ull << 32));
  CARVE_RETURN_IF_ERROR(f.Whole<uint32_t>("max_header_bytes", &c.max_header_bytes, 1024));
  return f.Whole("max_connections", &c.max_connections, 1);
}

Status ParseTimeouts(const Reader& r, const YAML::Node& n, Timeouts& t) {
  if (!n.IsDefined() || n.IsNull()) return Status::Ok();
  yaml::Fields f = r.Map(n, "timeouts");
  CARVE_RETURN_IF_ERROR(f.Check({"connect_ms", "upstream_idle_ms", "client_idle_ms",
                                 "client_write_ms", "queue_ms", "hold_ms", "drain_ms"}));
  CARVE_RETURN_IF_ERROR(f.Whole("connect_ms", &t.connect_ms, 1));
  CARVE_RETURN_IF_ERROR(f.Whole("upstream_idle_ms", &t.upstream_idle_ms, 1));
  CARVE_RETURN_IF_ERROR(f.Whole("client_idle_ms", &t.client_idle_ms, 1));
  CARVE_RETURN_IF_ERROR(f.Whole("client_write_ms", &t.client_write_ms, 1));
  CARVE_RETURN_IF_ERROR(f.Whole("queue_ms", &t.queue_ms));
  CARVE_RETURN_IF_ERROR(f.Whole("hold_ms", &t.hold_ms));
  return f.Whole("drain_ms", &t.drain_ms);
}

Status ParseHealth(const Reader& r, const YAML::Node& n, HealthConfig& h) {
  if (!n.IsDefined() || n.IsNull()) return Status::Ok();
  yaml::Fields f = r.Map(n, "health");
  CARVE_RETURN_IF_ERROR(f.Check({"interval_ms", "timeout_ms", "path"}));
  CARVE_RETURN_IF_ERROR(f.Whole("interval_ms", &h.interval_ms, 1));
  CARVE_RETURN_IF_ERROR(f.Whole("timeout_ms", &h.timeout_ms, 1));
  CARVE_RETURN_IF_ERROR(f.Str("path", &h.path));
  if (!h.path.starts_with('/')) return f.Err("path", "must start with /");
  if (std::any_of(h.path.begin(), h.path.end(),
                  [](char ch) { return static_cast<unsigned char>(ch) <= ' ' || ch == 127; }))
    return f.Err("path", "holds a space or a control character (CR, LF …)");
  return Status::Ok();
}

Status ParseRoot(const Reader& r, const YAML::Node& root, GatewayConfig& c) {
  yaml::Fields f = r.Map(root, "");
  CARVE_RETURN_IF_ERROR(f.Check({"version", "listen", "threads", "access_log", "models", "keys",
                                 "limits", "timeouts", "health", "retries"}));
  std::string version = std::string(kFormatVersion);
  CARVE_RETURN_IF_ERROR(f.Str("version", &version));
  if (version != kFormatVersion)
    return f.Err("version", "is '" + version + "'; this carve reads " + kFormatVersion);
  CARVE_RETURN_IF_ERROR(f.Str("listen", &c.listen));
  CARVE_RETURN_IF_ERROR(ParseListen(r, root["listen"], c));
  CARVE_RETURN_IF_ERROR(f.Whole("threads", &c.threads));
  if (c.threads > kMaxThreads)
    return f.Err("threads",
                 "is " + std::to_string(c.threads) + ", more than " + std::to_string(kMaxThreads),
                 "0 (the default) picks one per CPU.");
  CARVE_RETURN_IF_ERROR(f.Whole("retries", &c.retries));
  CARVE_RETURN_IF_ERROR(f.Str("access_log", &c.access_log));
  CARVE_RETURN_IF_ERROR(ParseList(r, root, "models", ParseModel, c.models));
  CARVE_RETURN_IF_ERROR(ParseList(r, root, "keys", ParseKey, c.keys));
  CARVE_RETURN_IF_ERROR(ParseLimits(r, root["limits"], c));
  CARVE_RETURN_IF_ERROR(ParseTimeouts(r, root["timeouts"], c.timeouts));
  return ParseHealth(r, root["health"], c.health);
}

Status CheckUnique(const Reader& r, const YAML::Node& root, const GatewayConfig& c) {
  std::set<std::string> models, keys, hashes;
  for (size_t i = 0; i < c.models.size(); ++i)
    if (!models.insert(c.models[i].name).second)
      return r.Error(root["models"][i], "model '" + c.models[i].name + "' is listed twice");
  for (size_t i = 0; i < c.keys.size(); ++i)
    for (const auto& m : c.keys[i].models)
      if (m != "*" && !models.count(m))
        return r.Error(root["keys"][i], "key '" + c.keys[i].name + "' names model '" + m +
                                            "', which is not in models:; fix the name or add the "
                                            "model (\"*\" allows every model)");
  for (size_t i = 0; i < c.keys.size(); ++i) {
    if (!keys.insert(c.keys[i].name).second)
      return r.Error(root["keys"][i], "key name '" + c.keys[i].name + "' is used twice");
    if (!hashes.insert(c.keys[i].sha256).second)
      return r.Error(root["keys"][i], "key '" + c.keys[i].name + "' has the hash of another key");
  }
  return Status::Ok();
}

}  // namespace

std::vector<Backend> GatewayConfig::AllBackends() const {
  std::vector<Backend> out;
  for (const auto& m : models) out.insert(out.end(), m.replicas.begin(), m.replicas.end());
  return out;
}

std::map<std::string, Limits> GatewayConfig::ModelLimits() const {
  std::map<std::string, Limits> out;
  for (const auto& m : models) out[m.name] = m.limits;
  return out;
}

Result<GatewayConfig> ParseConfig(const std::string& text, const std::string& file) {
  CARVE_ASSIGN_OR_RETURN(YAML::Node root, yaml::Parse(text, file));
  return ParseConfigNode(root, file);
}

Result<GatewayConfig> ParseConfigNode(const YAML::Node& root, const std::string& file,
                                      std::string_view prefix) {
  Reader r{file, std::string(prefix)};
  GatewayConfig c;
  if (!root.IsDefined() || root.IsNull()) return c;  // an empty file: every default
  try {
    CARVE_RETURN_IF_ERROR(yaml::CheckNoDuplicateKeys(file, root));
    CARVE_RETURN_IF_ERROR(ParseRoot(r, root, c));
    CARVE_RETURN_IF_ERROR(CheckUnique(r, root, c));
  } catch (const YAML::Exception& e) {  // yaml::Fields keeps them in; this is the backstop
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return c;
}

Result<GatewayConfig> LoadConfig(const std::string& path) {
  CARVE_ASSIGN_OR_RETURN(std::string text,
                         ReadFileBounded(path, kMaxConfigBytes, "gateway config"));
  return ParseConfig(text, path);
}

}  // namespace carve::gateway
