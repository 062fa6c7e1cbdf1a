// The model side: per workload a Deployment pinned to its layout's nodes and
// requesting its slice; per model a Service in front of its pods.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

struct EngineImage {
  const char* engine;
  const char* image;   // "" = the spec must name one
  const char* health;  // "" = TCP probes
};
constexpr EngineImage kImages[] = {
    {"vllm", "vllm/vllm-openai:v0.10.2", "/health"},
    {"llama.cpp", "ghcr.io/ggml-org/llama.cpp:server-cuda", "/health"},
    {"sglang", "lmsysorg/sglang:latest", "/health"},
    {"command", "", ""},
};

const EngineImage* ImageFor(const std::string& engine) {
  for (const auto& e : kImages)
    if (engine == e.engine) return &e;
  return nullptr;
}

std::string Fraction(double f) { return fmt::format("{:.2f}", f); }

// Engine arguments that make it serve `name` on kModelPort from the plan's slice.
std::vector<std::string> EngineArgs(const spec::Model& m, const Workload& w) {
  std::string port = std::to_string(kModelPort), src = m.source.empty() ? m.name : m.source;
  std::vector<std::string> a;
  if (m.engine == "vllm") {
    a = {"--model", src, "--served-model-name", m.name, "--host", "0.0.0.0", "--port", port};
    if (w.memory_fraction > 0)
      a.insert(a.end(), {"--gpu-memory-utilization", Fraction(w.memory_fraction)});
    if (w.gpus > 1) a.insert(a.end(), {"--tensor-parallel-size", std::to_string(w.gpus)});
  } else if (m.engine == "sglang") {
    a = {"-m",
         "sglang.launch_server",
         "--model-path",
         src,
         "--served-model-name",
         m.name,
         "--host",
         "0.0.0.0",
         "--port",
         port};
    if (w.memory_fraction > 0)
      a.insert(a.end(), {"--mem-fraction-static", Fraction(w.memory_fraction)});
    if (w.gpus > 1) a.insert(a.end(), {"--tp", std::to_string(w.gpus)});
  } else if (m.engine == "llama.cpp") {
    bool file = src.size() > 5 && src.substr(src.size() - 5) == ".gguf";
    a = {file ? "--model" : "--hf-repo",
         src,
         "--alias",
         m.name,
         "--host",
         "0.0.0.0",
         "--port",
         port,
         "--n-gpu-layers",
         "999"};
  }
  a.insert(a.end(), m.args.begin(), m.args.end());
  a.insert(a.end(), w.args.begin(), w.args.end());
  return a;
}

std::vector<std::string> CommandOf(const spec::Model& m) {
  if (m.engine == "sglang") return {"python3"};
  std::vector<std::string> cmd = m.command;
  for (auto& part : cmd)
    for (size_t at; (at = part.find("{port}")) != std::string::npos;)
      part.replace(at, 6, std::to_string(kModelPort));
  return cmd;
}

Json Probe(const char* health, int period, int failures) {
  Json action = *health ? Json{{"httpGet", {{"path", health}, {"port", "http"}}}}
                        : Json{{"tcpSocket", {{"port", "http"}}}};
  action["periodSeconds"] = period;
  action["timeoutSeconds"] = 5;
  action["failureThreshold"] = failures;
  return action;
}

// A claimed workload (--dra) gets its slice from its ResourceClaimTemplate, not an extended
// resource.
Json Resources(const Workload& w, const Options& o) {
  int cpu = w.profile ? std::max(2, 2 * w.profile->slices) : 8 * w.gpus;
  auto gib = std::max<uint64_t>(16, (w.memory_mib * uint64_t(w.gpus) + 1023) / 1024);
  Json r{{"requests", {{"cpu", std::to_string(cpu)}, {"memory", fmt::format("{}Gi", gib)}}},
         {"limits", {{"memory", fmt::format("{}Gi", 2 * gib)}}}};
  if (Claimed(w, o)) {
    r["claims"] = Json::array({{{"name", kClaimName}}});
    return r;
  }
  int count = o.strategy == Strategy::kSingle || !w.profile ? w.gpus : 1;
  r["requests"][w.Resource(o.strategy)] = count;
  r["limits"][w.Resource(o.strategy)] = count;
  return r;
}

Json Affinity(const Workload& w) {
  Json terms = Json::array(
      {{{"key", kLayoutLabel}, {"operator", "In"}, {"values", Json::array({w.layout})}}});
  bool named = !w.nodes.empty() &&
               std::none_of(w.nodes.begin(), w.nodes.end(), [](auto& n) { return n.empty(); });
  if (named)
    terms.push_back({{"key", "kubernetes.io/hostname"}, {"operator", "In"}, {"values", w.nodes}});
  return Json{{"nodeAffinity",
               {{"requiredDuringSchedulingIgnoredDuringExecution",
                 {{"nodeSelectorTerms", Json::array({Json{{"matchExpressions", terms}}})}}}}}};
}

Json Labels(const std::string& model, const std::string& component) {
  return Json{{"app.kubernetes.io/name", model},
              {"app.kubernetes.io/component", component},
              {"app.kubernetes.io/part-of", "carve"},
              {"app.kubernetes.io/managed-by", "carve"}};
}

Json Container(const spec::Model& m, const Workload& w, const EngineImage& e, const Options& o) {
  Json c{{"name", "engine"}, {"image", m.image.empty() ? e.image : m.image}};
  auto cmd = CommandOf(m);
  if (!cmd.empty()) c["command"] = cmd;
  c["args"] = EngineArgs(m, w);
  c["ports"] = Json::array({{{"name", "http"}, {"containerPort", kModelPort}}});
  c["env"] = Json::array(
      {{{"name", "HF_HOME"}, {"value", "/cache/huggingface"}},
       {{"name", "LLAMA_CACHE"}, {"value", "/cache/llama.cpp"}},
       {{"name", "HF_TOKEN"},
        {"valueFrom",
         {{"secretKeyRef", {{"name", "hf-token"}, {"key", "token"}, {"optional", true}}}}}}});
  c["resources"] = Resources(w, o);
  c["startupProbe"] = Probe(e.health, 10, 360);  // first start may download the weights
  c["readinessProbe"] = Probe(e.health, 5, 3);
  c["livenessProbe"] = Probe(e.health, 15, 4);
  c["volumeMounts"] = Json::array({{{"name", "model-cache"}, {"mountPath", "/cache"}},
                                   {{"name", "shm"}, {"mountPath", "/dev/shm"}}});
  return c;
}

Json Deployment(const spec::Model& m, const Workload& w, const EngineImage& e, const Options& o) {
  std::string model = DnsLabel(m.name);
  Json labels = Labels(model, "model");
  labels["carve.dev/model"] = model;
  labels["carve.dev/workload"] = w.name;
  // A fixed pool's nodes are whoever its provider brings up: selected by the pool's label, not by
  // name.
  Json placement = w.pool.fixed()
                       ? Json{{"nodeSelector", {{w.pool.Label().first, w.pool.Label().second}}}}
                       : Json{{"affinity", Affinity(w)}};
  Json pod = placement;
  if (Claimed(w, o))
    pod["resourceClaims"] =
        Json::array({{{"name", kClaimName}, {"resourceClaimTemplateName", w.name}}});
  pod.update(Json{
      {"tolerations",
       Json::array(
           {{{"key", "nvidia.com/gpu"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}})},
      {"terminationGracePeriodSeconds", 60},
      {"containers", Json::array({Container(m, w, e, o)})},
      {"volumes",
       Json::array(
           {{{"name", "model-cache"},
             {"hostPath", {{"path", "/var/lib/carve/model-cache"}, {"type", "DirectoryOrCreate"}}}},
            {{"name", "shm"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", "2Gi"}}}}})}});
  Json annotations{
      {"carve.dev/layout", w.layout},
      {"carve.dev/slice", w.profile ? w.profile->name : fmt::format("{} whole GPU(s)", w.gpus)}};
  return Json{
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata",
       {{"name", w.name}, {"namespace", o.ns}, {"labels", labels}, {"annotations", annotations}}},
      {"spec",
       {{"replicas", w.replicas},
        // Every slice is spoken for: a surge pod would wait forever.
        {"strategy",
         {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", 1}}}}},
        {"selector", {{"matchLabels", {{"carve.dev/workload", w.name}}}}},
        {"template",
         {{"metadata", {{"labels", labels}, {"annotations", annotations}}}, {"spec", pod}}}}}};
}

}  // namespace

std::string ServiceName(const std::string& model) {
  std::string name = DnsLabel(model);
  return std::isalpha(static_cast<unsigned char>(name[0])) ? name : DnsLabel("model-" + name);
}

std::string ServiceUrl(const std::string& model, const Options& o) {
  return fmt::format("http://{}.{}.svc.cluster.local:{}", ServiceName(model), o.ns, kModelPort);
}

Result<std::vector<Json>> ModelObjects(const Cluster& cluster, const plan::Plan& plan,
                                       const spec::Spec& spec, const Options& o) {
  std::vector<Json> claims, deployments, services;
  CARVE_RETURN_IF_ERROR(CheckClaims(cluster, o));
  std::vector<bool> served(spec.models.size(), false);
  for (const auto& w : cluster.workloads) {
    const spec::Model& m = spec.models[size_t(w.model)];
    const EngineImage* e = ImageFor(m.engine);
    if (!e || (!*e->image && m.image.empty()))
      return Status::InvalidArgument(
          fmt::format("{}: model '{}': engine '{}' has no container image carve knows",
                      m.where.str(), m.name, m.engine),
          m.engine == "echo" ? "echo is carve's built-in test engine; on Kubernetes use engine: "
                               "command with image: IMAGE."
                             : "Add image: IMAGE to the model (the image that runs its command).");
    if (Claimed(w, o)) claims.push_back(ClaimTemplate(w, o));
    deployments.push_back(Deployment(m, w, *e, o));
    served[size_t(w.model)] = true;
  }
  for (size_t i = 0; i < spec.models.size(); ++i) {
    if (!served[i]) continue;
    std::string model = DnsLabel(spec.models[i].name);
    services.push_back(Json{
        {"apiVersion", "v1"},
        {"kind", "Service"},
        {"metadata",
         {{"name", ServiceName(spec.models[i].name)},
          {"namespace", o.ns},
          {"labels", Labels(model, "model")}}},
        {"spec",
         {{"selector", {{"carve.dev/model", model}}},
          {"ports",
           Json::array({{{"name", "http"}, {"port", kModelPort}, {"targetPort", "http"}}})}}}});
  }
  std::sort(services.begin(), services.end(),
            [](auto& a, auto& b) { return a["metadata"]["name"] < b["metadata"]["name"]; });
  deployments.insert(deployments.end(), services.begin(), services.end());
  claims.insert(claims.end(), deployments.begin(), deployments.end());
  return claims;
}

}  // namespace carve::render::k8s
