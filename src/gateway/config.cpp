#include "gateway/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "util/read_file.h"

namespace carve::gateway {
namespace {

// Reads nodes of one file, turning every problem into "FILE:LINE: …".
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Status Error(const YAML::Node& n, const std::string& what) const {
    int line = n.IsDefined() ? n.Mark().line + 1 : 0;
    return Status::InvalidArgument(file_ + ":" + std::to_string(line) + ": " + what,
                                   "see docs/gateway.md for every key and its default");
  }

  Status Keys(const YAML::Node& map, const std::string& where,
              std::initializer_list<const char*> known) const {
    if (!map.IsMap()) return Error(map, where + " must be a mapping");
    for (const auto& kv : map) {
      std::string key = kv.first.Scalar();
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
        std::string list;
        for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
        return Error(kv.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
      }
    }
    return Status::Ok();
  }

  template <typename T>
  Status Get(const YAML::Node& map, const char* key, T& out, const std::string& where) const {
    YAML::Node n = map[key];
    if (!n.IsDefined() || n.IsNull()) return Status::Ok();
    if (!n.IsScalar()) return Error(n, where + "." + key + " must be a single value");
    try {
      out = n.as<T>();
    } catch (const YAML::Exception&) {
      return Error(n, where + "." + key + ": '" + n.Scalar() + "' is not a valid " + TypeName<T>());
    }
    return Status::Ok();
  }

  Status Positive(const YAML::Node& map, const char* key, int& out, const std::string& where,
                  bool allow_zero) const {
    CARVE_RETURN_IF_ERROR(Get(map, key, out, where));
    if (out < 0 || (!allow_zero && out == 0))
      return Error(map[key], where + "." + key + " must be " + (allow_zero ? "≥ 0" : "> 0"));
    return Status::Ok();
  }

 private:
  template <typename T>
  static const char* TypeName() {
    if constexpr (std::is_same_v<T, std::string>)
      return "string";
    else if constexpr (std::is_same_v<T, bool>)
      return "boolean";
    else
      return "number";
  }
  std::string file_;
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
    CARVE_RETURN_IF_ERROR(r.Keys(n, where, {"url", "gpu", "slice"}));
    CARVE_RETURN_IF_ERROR(r.Get(n, "url", b.url, where));
    CARVE_RETURN_IF_ERROR(r.Get(n, "gpu", b.gpu, where));
    CARVE_RETURN_IF_ERROR(r.Get(n, "slice", b.slice, where));
  }
  if (b.url.empty()) return r.Error(n, where + " has no url");
  auto endpoint = ParseUrl(b.url);
  if (!endpoint.ok()) return r.Error(n, endpoint.status().message());
  for (const auto& other : out)
    if (other.url == b.url) return r.Error(n, where + ": url " + b.url + " is listed twice");
  out.push_back(std::move(b));
  return Status::Ok();
}

Status ParseModel(const Reader& r, const YAML::Node& n, const std::string& where, ModelConfig& m) {
  CARVE_RETURN_IF_ERROR(r.Keys(n, where, {"name", "replicas", "max_in_flight", "max_queue"}));
  CARVE_RETURN_IF_ERROR(r.Get(n, "name", m.name, where));
  if (m.name.empty()) return r.Error(n, where + " has no name (the id clients send as model)");
  CARVE_RETURN_IF_ERROR(r.Positive(n, "max_in_flight", m.limits.max_in_flight, where, true));
  CARVE_RETURN_IF_ERROR(r.Positive(n, "max_queue", m.limits.max_queue, where, true));
  YAML::Node reps = n["replicas"];
  if (!reps.IsDefined() || !reps.IsSequence() || reps.size() == 0)
    return r.Error(reps.IsDefined() ? reps : n, where + ".replicas must list at least one url");
  for (size_t i = 0; i < reps.size(); ++i) {
    std::string w = where + ".replicas[" + std::to_string(i) + "]";
    CARVE_RETURN_IF_ERROR(ParseReplica(r, reps[i], m.name, w, m.replicas));
  }
  return Status::Ok();
}

Status ParseKey(const Reader& r, const YAML::Node& n, const std::string& where, ApiKey& k) {
  CARVE_RETURN_IF_ERROR(r.Keys(n, where, {"name", "sha256", "models"}));
  CARVE_RETURN_IF_ERROR(r.Get(n, "name", k.name, where));
  CARVE_RETURN_IF_ERROR(r.Get(n, "sha256", k.sha256, where));
  std::transform(k.sha256.begin(), k.sha256.end(), k.sha256.begin(), ::tolower);
  if (k.name.empty()) return r.Error(n, where + " has no name");
  bool hex = k.sha256.size() == 64 &&
             std::all_of(k.sha256.begin(), k.sha256.end(), [](char c) { return std::isxdigit(c); });
  if (!hex)
    return r.Error(n[k.sha256.empty() ? "name" : "sha256"],
                   where +
                       ".sha256 must be 64 hex digits: the SHA-256 of the key "
                       "(printf %s KEY | sha256sum), never the key itself");
  YAML::Node models = n["models"];
  if (!models.IsDefined() || !models.IsSequence() || models.size() == 0)
    return r.Error(models.IsDefined() ? models : n,
                   where + ".models must list the models this key may use ([\"*\"] for all)");
  for (const auto& m : models) k.models.push_back(m.Scalar());
  return Status::Ok();
}

template <typename T, typename Fn>
Status ParseList(const Reader& r, const YAML::Node& root, const char* key, Fn parse,
                 std::vector<T>& out) {
  YAML::Node list = root[key];
  if (!list.IsDefined() || list.IsNull()) return Status::Ok();
  if (!list.IsSequence()) return r.Error(list, std::string(key) + " must be a list");
  for (size_t i = 0; i < list.size(); ++i) {
    T item;
    CARVE_RETURN_IF_ERROR(
        parse(r, list[i], std::string(key) + "[" + std::to_string(i) + "]", item));
    out.push_back(std::move(item));
  }
  return Status::Ok();
}

Status ParseLimits(const Reader& r, const YAML::Node& n, GatewayConfig& c) {
  if (!n.IsDefined()) return Status::Ok();
  CARVE_RETURN_IF_ERROR(
      r.Keys(n, "limits", {"max_body_bytes", "max_header_bytes", "max_connections"}));
  CARVE_RETURN_IF_ERROR(r.Get(n, "max_body_bytes", c.max_body_bytes, "limits"));
  CARVE_RETURN_IF_ERROR(r.Get(n, "max_header_bytes", c.max_header_bytes, "limits"));
  if (c.max_body_bytes == 0 || c.max_body_bytes > (1ull << 32))
    return r.Error(n["max_body_bytes"],
                   "limits.max_body_bytes must be from 1 to 4294967296 (4 GiB)");
  if (c.max_header_bytes < 1024)
    return r.Error(n["max_header_bytes"], "limits.max_header_bytes must be at least 1024");
  return r.Positive(n, "max_connections", c.max_connections, "limits", false);
}

Status ParseTimeouts(const Reader& r, const YAML::Node& n, Timeouts& t) {
  if (!n.IsDefined()) return Status::Ok();
  CARVE_RETURN_IF_ERROR(r.Keys(n, "timeouts",
                               {"connect_ms", "upstream_idle_ms", "client_idle_ms",
                                "client_write_ms", "queue_ms", "drain_ms"}));
  CARVE_RETURN_IF_ERROR(r.Positive(n, "connect_ms", t.connect_ms, "timeouts", false));
  CARVE_RETURN_IF_ERROR(r.Positive(n, "upstream_idle_ms", t.upstream_idle_ms, "timeouts", false));
  CARVE_RETURN_IF_ERROR(r.Positive(n, "client_idle_ms", t.client_idle_ms, "timeouts", false));
  CARVE_RETURN_IF_ERROR(r.Positive(n, "client_write_ms", t.client_write_ms, "timeouts", false));
  CARVE_RETURN_IF_ERROR(r.Positive(n, "queue_ms", t.queue_ms, "timeouts", true));
  return r.Positive(n, "drain_ms", t.drain_ms, "timeouts", true);
}

Status ParseHealth(const Reader& r, const YAML::Node& n, HealthConfig& h) {
  if (!n.IsDefined()) return Status::Ok();
  CARVE_RETURN_IF_ERROR(r.Keys(n, "health", {"interval_ms", "timeout_ms", "path"}));
  CARVE_RETURN_IF_ERROR(r.Positive(n, "interval_ms", h.interval_ms, "health", false));
  CARVE_RETURN_IF_ERROR(r.Positive(n, "timeout_ms", h.timeout_ms, "health", false));
  CARVE_RETURN_IF_ERROR(r.Get(n, "path", h.path, "health"));
  if (!h.path.starts_with('/')) return r.Error(n["path"], "health.path must start with /");
  if (std::any_of(h.path.begin(), h.path.end(),
                  [](char ch) { return static_cast<unsigned char>(ch) <= ' ' || ch == 127; }))
    return r.Error(n["path"], "health.path holds a space or a control character (CR, LF …)");
  return Status::Ok();
}

Status ParseRoot(const Reader& r, const YAML::Node& root, GatewayConfig& c) {
  CARVE_RETURN_IF_ERROR(r.Keys(root, "the gateway config",
                               {"version", "listen", "threads", "access_log", "models", "keys",
                                "limits", "timeouts", "health", "retries"}));
  std::string version = "v1";
  CARVE_RETURN_IF_ERROR(r.Get(root, "version", version, "config"));
  if (version != "v1") return r.Error(root["version"], "unknown version '" + version + "' (v1)");
  CARVE_RETURN_IF_ERROR(r.Get(root, "listen", c.listen, "config"));
  CARVE_RETURN_IF_ERROR(ParseListen(r, root["listen"], c));
  CARVE_RETURN_IF_ERROR(r.Positive(root, "threads", c.threads, "config", true));
  if (c.threads > kMaxThreads)
    return r.Error(root["threads"], "threads: " + std::to_string(c.threads) + " is more than " +
                                        std::to_string(kMaxThreads) +
                                        "; 0 (the default) picks one per CPU");
  CARVE_RETURN_IF_ERROR(r.Positive(root, "retries", c.retries, "config", true));
  CARVE_RETURN_IF_ERROR(r.Get(root, "access_log", c.access_log, "config"));
  CARVE_RETURN_IF_ERROR(ParseList(r, root, "models", ParseModel, c.models));
  CARVE_RETURN_IF_ERROR(ParseList(r, root, "keys", ParseKey, c.keys));
  CARVE_RETURN_IF_ERROR(ParseLimits(r, root["limits"], c));
  CARVE_RETURN_IF_ERROR(ParseTimeouts(r, root["timeouts"], c.timeouts));
  return ParseHealth(r, root["health"], c.health);
}

// yaml-cpp keeps a mapping's repeated key and reads the first: a typo'd
// second `timeouts:` would be silently ignored.
Status CheckNoDuplicateKeys(const Reader& r, const YAML::Node& n) {
  if (n.IsSequence())
    for (const auto& item : n) CARVE_RETURN_IF_ERROR(CheckNoDuplicateKeys(r, item));
  if (!n.IsMap()) return Status::Ok();
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (kv.first.IsScalar() && !seen.insert(kv.first.Scalar()).second)
      return r.Error(kv.first, "key '" + kv.first.Scalar() + "' is given twice in one mapping");
    CARVE_RETURN_IF_ERROR(CheckNoDuplicateKeys(r, kv.second));
  }
  return Status::Ok();
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
  YAML::Node root;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.size() > 1)
      return Status::InvalidArgument(file + ":" + std::to_string(docs[1].Mark().line + 1) +
                                         ": a second YAML document ('---'); the config is one",
                                     "merge it into the first, or remove it");
    if (!docs.empty()) root = docs[0];
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) +
                                   ": not valid YAML: " + e.msg);
  }
  return ParseConfigNode(root, file);
}

Result<GatewayConfig> ParseConfigNode(const YAML::Node& root, const std::string& file) {
  Reader r(file);
  GatewayConfig c;
  if (!root.IsDefined() || root.IsNull()) return c;  // an empty file: every default
  try {
    CARVE_RETURN_IF_ERROR(CheckNoDuplicateKeys(r, root));
    CARVE_RETURN_IF_ERROR(ParseRoot(r, root, c));
    CARVE_RETURN_IF_ERROR(CheckUnique(r, root, c));
  } catch (const YAML::Exception& e) {
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
