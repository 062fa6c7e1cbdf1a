// The gateway in the cluster: the same keys and limits as on one host, its
// backends the model Services.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>

#include "gateway/config.h"
#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

constexpr const char* kName = "carve-gateway";

// A YAML scalar as JSON: quoted scalars stay strings; plain ones become
// bools and numbers where YAML would read them so (long digit strings, such
// as a hash, stay strings).
Json ScalarJson(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;
  if (s == "true" || s == "false") return s == "true";
  char* end = nullptr;
  long long i = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0' && s.size() < 16) return i;
  double d = std::strtod(s.c_str(), &end);
  if (!s.empty() && *end == '\0' && s.find_first_of("0123456789") != std::string::npos &&
      s.size() < 16)
    return d;
  return s;
}

Json YamlToJson(const YAML::Node& n) {
  if (n.IsScalar()) return ScalarJson(n);
  if (n.IsSequence()) {
    Json a = Json::array();
    for (const auto& item : n) a.push_back(YamlToJson(item));
    return a;
  }
  if (n.IsMap()) {
    Json o = Json::object();
    for (const auto& kv : n) o[kv.first.Scalar()] = YamlToJson(kv.second);
    return o;
  }
  return nullptr;
}

int ListenPort(const spec::Spec& spec) {
  if (!spec.gateway.IsMap() || !spec.gateway["listen"]) return kModelPort;
  std::string listen = spec.gateway["listen"].Scalar();
  int port = std::atoi(listen.substr(listen.rfind(':') + 1).c_str());
  return port > 0 ? port : kModelPort;
}

Json Keys(const spec::Spec& spec) {
  return spec.gateway.IsMap() && spec.gateway["keys"] ? YamlToJson(spec.gateway["keys"])
                                                      : Json::array();
}

std::string Hash(const std::string& text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

Json GatewayContainer(const Options& o, int port, bool keys) {
  std::string run = "exec carve gateway --config /etc/carve/gateway.yaml";
  if (keys)  // the Secret's keys: list joins the ConfigMap's settings in one file
    run =
        "cat /etc/carve/gateway.yaml /etc/carve/keys/keys.yaml > /tmp/gateway.yaml && "
        "exec carve gateway --config /tmp/gateway.yaml";
  Json mounts = Json::array(
      {{{"name", "config"}, {"mountPath", "/etc/carve/gateway.yaml"}, {"subPath", "gateway.yaml"}},
       {{"name", "tmp"}, {"mountPath", "/tmp"}}});
  if (keys)
    mounts.push_back({{"name", "keys"}, {"mountPath", "/etc/carve/keys"}, {"readOnly", true}});
  auto probe = [](const char* path, int period) {
    return Json{{"httpGet", {{"path", path}, {"port", "http"}}},
                {"periodSeconds", period},
                {"failureThreshold", 3}};
  };
  return Json{
      {"name", "gateway"},
      {"image", o.carve_image},
      {"command", Json::array({"sh", "-c", run})},
      {"ports", Json::array({{{"name", "http"}, {"containerPort", port}}})},
      {"resources",
       {{"requests", {{"cpu", "1"}, {"memory", "512Mi"}}}, {"limits", {{"memory", "1Gi"}}}}},
      {"readinessProbe", probe("/ready", 5)},
      {"livenessProbe", probe("/health", 10)},
      {"volumeMounts", mounts}};
}

Json Meta(const std::string& name, const Options& o) {
  return Json{{"name", name},
              {"namespace", o.ns},
              {"labels",
               {{"app.kubernetes.io/name", kName},
                {"app.kubernetes.io/component", "gateway"},
                {"app.kubernetes.io/part-of", "carve"},
                {"app.kubernetes.io/managed-by", "carve"}}}};
}

}  // namespace

Result<Json> GatewayConfig(const plan::Plan& plan, const spec::Spec& spec, const Options& o) {
  // The spec's gateway: section as the gateway will read it, refused here at
  // carve.yaml's own line rather than by a pod that cannot start.
  if (spec.gateway && spec.gateway.IsMap()) {
    YAML::Node whole = YAML::Clone(spec.gateway);  // keeps each key's line
    for (const auto& m : plan.models)
      if (m.replicas > 0) {
        YAML::Node model;
        model["name"] = m.name;
        model["replicas"].push_back(ServiceUrl(m.name, o));
        whole["models"].push_back(model);
      }
    auto checked = gateway::ParseConfigNode(whole, spec.file, "gateway.");
    if (!checked.ok()) return checked.status();
  }
  Json c{{"listen", fmt::format("0.0.0.0:{}", ListenPort(spec))}, {"models", Json::array()}};
  for (const auto& m : plan.models)
    if (m.replicas > 0)
      c["models"].push_back({{"name", m.name}, {"replicas", Json::array({ServiceUrl(m.name, o)})}});
  if (spec.gateway.IsMap())
    for (const auto& kv : spec.gateway) {
      std::string key = kv.first.Scalar();
      if (key != "listen" && key != "keys" && key != "models") c[key] = YamlToJson(kv.second);
    }
  return c;
}

Result<std::vector<Json>> GatewayObjects(const Cluster& cluster, const plan::Plan& plan,
                                         const spec::Spec& spec, const Options& o) {
  CARVE_ASSIGN_OR_RETURN(Json config, GatewayConfig(plan, spec, o));
  std::string config_text = ToYaml(config), keys_text;
  Json keys = Keys(spec);
  std::vector<Json> out;
  Json cm{{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", Meta(kName, o)},
          {"data", {{"gateway.yaml", config_text}}}};
  out.push_back(cm);
  if (!keys.empty()) {
    keys_text = ToYaml(Json{{"keys", keys}});
    out.push_back(Json{{"apiVersion", "v1"},
                       {"kind", "Secret"},
                       {"metadata", Meta(kName + std::string("-keys"), o)},
                       {"type", "Opaque"},
                       {"stringData", {{"keys.yaml", keys_text}}}});
  }
  int port = ListenPort(spec);
  Json volumes = Json::array({{{"name", "config"}, {"configMap", {{"name", kName}}}},
                              {{"name", "tmp"}, {"emptyDir", Json::object()}}});
  if (!keys.empty())
    volumes.push_back(
        {{"name", "keys"}, {"secret", {{"secretName", kName + std::string("-keys")}}}});
  Json selector{{"app.kubernetes.io/name", kName}};
  Json meta = Meta(kName, o);
  out.push_back(
      Json{{"apiVersion", "apps/v1"},
           {"kind", "Deployment"},
           {"metadata", meta},
           {"spec",
            {{"replicas", 2},
             {"selector", {{"matchLabels", selector}}},
             {"template",
              {{"metadata",
                {{"labels", meta["labels"]},
                 // a new config rolls the pods
                 {"annotations", {{"carve.dev/config-hash", Hash(config_text + keys_text)}}}}},
               // the image runs as a numbered non-root user (Dockerfile)
               {"spec",
                {{"securityContext", {{"runAsNonRoot", true}}},
                 {"containers", Json::array({GatewayContainer(o, port, !keys.empty())})},
                 {"volumes", volumes}}}}}}}});
  out.push_back(Json{
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", meta},
      {"spec",
       {{"selector", selector},
        {"ports", Json::array({{{"name", "http"}, {"port", port}, {"targetPort", "http"}}})}}}});
  return out;
}

}  // namespace carve::render::k8s
