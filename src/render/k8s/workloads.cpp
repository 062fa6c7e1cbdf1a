// The model side: per workload a Deployment pinned to its layout's nodes and
// requesting its slice; per model a Service in front of its pods.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "render/k8s/k8s.h"
#include "serve/engine.h"

namespace carve::render::k8s {
namespace {

// The replica the engine table (serve/engine.h) is asked about: the model as
// carve up runs it, with the workload's share of its slice and its GPUs. It
// has no MIG UUID: the device plugin picks the slice when the pod starts.
Result<serve::ReplicaSpec> EngineReplica(const spec::Model& m, const Workload& w) {
  serve::ReplicaSpec r;
  CARVE_ASSIGN_OR_RETURN(r.engine, serve::ParseEngine(m.engine));
  r.model = m.name;
  r.source = m.source;
  r.command = m.command;
  r.args = m.args;
  r.args.insert(r.args.end(), w.args.begin(), w.args.end());
  r.env = m.env;
  r.image = m.image;
  if (w.memory_fraction > 0) r.memory_fraction = w.memory_fraction;
  r.tensor_parallel = w.gpus;
  return r;
}

// Echo and command engines run in the image the model names.
Status CheckImage(const spec::Model& m) {
  auto engine = serve::ParseEngine(m.engine);
  if (!engine.ok() || !serve::DefaultImage(*engine).empty() || !m.image.empty())
    return Status::Ok();
  return Status::InvalidArgument(
      fmt::format("{}: model '{}': engine '{}' has no container image carve knows", m.where.str(),
                  m.name, m.engine),
      m.engine == "echo" ? "Add image: IMAGE to the model (an image with carve on its PATH, e.g. "
                           "carve's own, runs `carve engine echo`)."
                         : "Add image: IMAGE to the model (the image that runs its command).");
}

// The engine's GET on `path`; the periods are Kubernetes' own.
Json Probe(const std::string& path, int period, int failures) {
  Json action{{"httpGet", {{"path", path}, {"port", "http"}}}};
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

Result<Json> Container(const spec::Model& m, const Workload& w, const Options& o) {
  CARVE_ASSIGN_OR_RETURN(serve::ReplicaSpec r, EngineReplica(m, w));
  auto command = serve::EngineCommandFor(r, serve::Site::kContainer, kModelPort);
  if (!command.ok()) return command.status().Prefixed(m.where.str());
  Json c{{"name", "engine"}, {"image", serve::ImageFor(r)}};
  if (!command->program.empty()) c["command"] = command->program;
  c["args"] = command->args;
  c["ports"] = Json::array({{{"name", "http"}, {"containerPort", kModelPort}}});
  c["env"] = Json::array(
      {{{"name", "HF_HOME"}, {"value", "/cache/huggingface"}},
       {{"name", "LLAMA_CACHE"}, {"value", "/cache/llama.cpp"}},
       {{"name", "HF_TOKEN"},
        {"valueFrom",
         {{"secretKeyRef", {{"name", "hf-token"}, {"key", "token"}, {"optional", true}}}}}}});
  c["resources"] = Resources(w, o);
  const serve::ProbeSpec probe = serve::ProbeFor(r);
  const std::string health = serve::HealthPath(probe);
  // Started within the engine's ready timeout, as carve up and Docker wait.
  constexpr int kStartupPeriodS = 10;
  int startup_failures = std::max(1, probe.ready_timeout_ms / 1000 / kStartupPeriodS);
  c["startupProbe"] = Probe(health, kStartupPeriodS, startup_failures);
  c["readinessProbe"] = Probe(health, 5, 3);
  c["livenessProbe"] = Probe(health, 15, 4);
  c["volumeMounts"] = Json::array({{{"name", "model-cache"}, {"mountPath", "/cache"}},
                                   {{"name", "shm"}, {"mountPath", "/dev/shm"}}});
  return c;
}

Result<Json> Deployment(const spec::Model& m, const Workload& w, const Options& o) {
  CARVE_ASSIGN_OR_RETURN(Json container, Container(m, w, o));
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
      {"containers", Json::array({container})},
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
    CARVE_RETURN_IF_ERROR(CheckImage(m));
    if (Claimed(w, o)) claims.push_back(ClaimTemplate(w, o));
    CARVE_ASSIGN_OR_RETURN(Json deployment, Deployment(m, w, o));
    deployments.push_back(std::move(deployment));
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
