// carve render: the plan as text for other systems. `carve render k8s` writes
// Kubernetes objects, node labels, the rollout script and runbook, and node
// pools; `docker` a script; `grafana` a dashboard over carve's metrics.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "plan/fleet.h"
#include "plan/plan.h"
#include "render/grafana.h"
#include "render/k8s/k8s.h"
#include "serve/docker.h"
#include "spec/spec.h"
#include "up/desired.h"
#include "up/gateway_config.h"
#include "util/atomic_file.h"
#include "util/read_file.h"

namespace carve::cli {

namespace {

struct K8sFlags {
  std::string spec, fleet, nodes, out, strategy = "mixed", op = "auto", cloud = "auto";
  render::k8s::Options options;
};

// --operator auto: the nodes say whether the GPU Operator runs (its labels);
// without a node list, a fleet of fixed pools only has none to drive.
Result<render::k8s::Operator> OperatorOf(const K8sFlags& f, const plan::Plan& p) {
  using render::k8s::Operator;
  if (f.op != "auto") return f.op == "none" ? Operator::kNone : Operator::kGpuOperator;
  if (!f.nodes.empty()) {
    CARVE_ASSIGN_OR_RETURN(std::string text,
                           ReadFileBounded(f.nodes, kMaxConfigBytes, "node list"));
    return plan::NodesRunGpuOperator(text) ? Operator::kGpuOperator : Operator::kNone;
  }
  bool all_fixed =
      std::all_of(p.gpus.begin(), p.gpus.end(), [](auto& g) { return g.gpu.fixed || !g.used(); });
  return all_fixed ? Operator::kNone : Operator::kGpuOperator;
}

// --cloud auto: the nodes' provider IDs; AWS when they do not say.
Result<render::k8s::Cloud> CloudOf(const K8sFlags& f) {
  std::string cloud = f.cloud;
  if (cloud == "auto" && !f.nodes.empty()) {
    CARVE_ASSIGN_OR_RETURN(std::string text,
                           ReadFileBounded(f.nodes, kMaxConfigBytes, "node list"));
    cloud = plan::NodesCloud(text);
  }
  return cloud == "exoscale" ? render::k8s::Cloud::kExoscale : render::k8s::Cloud::kAws;
}

// The rendered systems start every replica up front; an on-demand model's
// engine is started on request, which only carve up does (docs/pools.md).
Status NoOnDemand(const spec::Spec& spec, const char* verb) {
  for (const auto& m : spec.models)
    if (m.on_demand)
      return Status::NotSupported(
          fmt::format("{}: model '{}' is on demand, and carve render {} has no on-demand pools: "
                      "only carve up starts engines on request",
                      m.where.str(), m.name, verb),
          "Serve the spec with carve up, or give the model replicas: N instead of on_demand.");
  return Status::Ok();
}

Status Unmet(const plan::Plan& p) {
  std::string what;
  for (const auto& u : p.unmet) what += fmt::format("\n  {}: {}", u.model, u.reason);
  return Status::Insufficient(
      fmt::format("the plan does not serve every model, so carve renders nothing:{}", what),
      "Add GPUs (--nodes, --fleet) or lower demand; `carve plan` shows the plan.");
}

Status WriteFiles(const std::string& dir, const std::vector<render::k8s::File>& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Io(fmt::format("cannot create '{}': {}", dir, ec.message()));
  for (const auto& f : files) {
    fs::path path = fs::path(dir) / f.path;
    std::ofstream out(path, std::ios::binary);
    out << f.text;
    if (!out) return Status::Io(fmt::format("cannot write '{}'", path.string()));
    out.close();
    if (f.executable)
      fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                      fs::perm_options::add, ec);
    fmt::print("wrote {}\n", path.string());
  }
  return Status::Ok();
}

Status RunK8s(Globals& g, K8sFlags& f) {
  CARVE_ASSIGN_OR_RETURN(spec::Spec spec, spec::LoadSpec(f.spec));
  CARVE_RETURN_IF_ERROR(NoOnDemand(spec, "k8s"));
  CARVE_ASSIGN_OR_RETURN(plan::Plan p, PlanSpec(g, spec, f.fleet, f.nodes, false));
  if (!p.unmet.empty()) return Unmet(p);
  f.options.strategy =
      f.strategy == "single" ? render::k8s::Strategy::kSingle : render::k8s::Strategy::kMixed;
  CARVE_ASSIGN_OR_RETURN(f.options.op, OperatorOf(f, p));
  CARVE_ASSIGN_OR_RETURN(f.options.cloud, CloudOf(f));
  f.options.spec_file = f.spec;
  if (f.out.empty()) {
    CARVE_ASSIGN_OR_RETURN(std::string text, render::k8s::RenderK8sObjects(p, spec, f.options));
    fmt::print("{}", text);
    return Status::Ok();
  }
  CARVE_ASSIGN_OR_RETURN(auto files, render::k8s::RenderK8s(p, spec, f.options));
  return WriteFiles(f.out, files);
}

void AddK8s(CLI::App* render, Globals& g) {
  auto* cmd = render->add_subcommand(
      "k8s", "Kubernetes: mig-parted ConfigMap, node labels, Deployments, gateway, rollout, pools");
  auto f = std::make_shared<K8sFlags>();
  cmd->add_option("spec", f->spec, "The spec (carve.yaml)")->required();
  cmd->add_option("--nodes", f->nodes,
                  "Plan for a Kubernetes node list (kubectl get nodes -o json)")
      ->type_name("FILE");
  cmd->add_option("--fleet", f->fleet, "GPUs to plan for: ALIAS[:COUNT[:COST_PER_MONTH]],…")
      ->type_name("LIST");
  cmd->add_option("--strategy", f->strategy,
                  "The device plugin's MIG strategy: mixed (default) or single")
      ->check(CLI::IsMember({"mixed", "single"}));
  cmd->add_option("--operator", f->op,
                  "Who runs NVIDIA's components: gpu-operator (MIG manager, ClusterPolicy), none "
                  "(a managed pool's "
                  "own device plugin), or auto (from the nodes' labels; default)")
      ->check(CLI::IsMember({"auto", "none", "gpu-operator"}));
  cmd->add_option("--cloud", f->cloud,
                  "Node classes in karpenter.yaml: aws (EC2NodeClass), exoscale "
                  "(ExoscaleNodeClass), or auto "
                  "(the nodes' provider IDs; aws when they do not say)")
      ->check(CLI::IsMember({"auto", "aws", "exoscale"}));
  cmd->add_flag("--dra", f->options.dra,
                "Slices as Dynamic Resource Allocation claims (ResourceClaimTemplates for NVIDIA's "
                "DRA driver) "
                "instead of extended resources");
  cmd->add_option("-o,--output", f->out,
                  "Write every file to DIR (default: the objects as YAML on stdout)")
      ->type_name("DIR");
  cmd->add_option("--namespace", f->options.ns, "Namespace of the workloads and the gateway")
      ->capture_default_str();
  cmd->add_option("--mig-configmap", f->options.mig_configmap,
                  "Name of the mig-parted ConfigMap (ClusterPolicy migManager.config.name)")
      ->capture_default_str();
  cmd->add_option("--carve-image", f->options.carve_image, "Image that runs the gateway")
      ->capture_default_str();
  cmd->callback(Body(g, [&g, f] { return RunK8s(g, *f); }));
}

struct DockerFlags {
  std::string spec, fleet, engine_ports;
  serve::DockerOptions options;
};

// A script that looks each slice's MIG UUID up when it runs (so it needs no
// machine now), then starts one container per replica and the gateway's.
Status RunDocker(Globals& g, DockerFlags& f) {
  CARVE_ASSIGN_OR_RETURN(spec::Spec spec, spec::LoadSpec(f.spec));
  CARVE_RETURN_IF_ERROR(NoOnDemand(spec, "docker"));
  CARVE_ASSIGN_OR_RETURN(plan::Plan p, PlanSpec(g, spec, f.fleet, "", false));
  if (!p.unmet.empty()) return Unmet(p);
  if (!f.engine_ports.empty())
    CARVE_RETURN_IF_ERROR(
        ParsePortRange(f.engine_ports, f.options.port_first, f.options.port_last));
  int placeholders = 0;  // every replica has its slice: the script looks its UUID up
  CARVE_ASSIGN_OR_RETURN(auto replicas, up::ReplicasFromPlan(p, spec, {}, placeholders));
  CARVE_RETURN_IF_ERROR(serve::AssignDockerPorts(replicas, f.options));
  CARVE_ASSIGN_OR_RETURN(f.options.gateway_config, up::GatewayYamlFor(spec, replicas));
  CARVE_ASSIGN_OR_RETURN(auto gateway, up::GatewayConfigFor(spec, ""));
  f.options.gateway_listen = gateway.listen;
  CARVE_ASSIGN_OR_RETURN(std::string text, serve::RenderDockerScript(replicas, f.options));
  fmt::print("{}", text);
  return Status::Ok();
}

void AddDocker(CLI::App* render, Globals& g) {
  auto* cmd = render->add_subcommand(
      "docker", "A script: one docker run --gpus device=MIG-… per replica, and the gateway");
  auto f = std::make_shared<DockerFlags>();
  cmd->add_option("spec", f->spec, "The spec (carve.yaml)")->required();
  cmd->add_option("--fleet", f->fleet, "GPUs to plan for instead of this machine: ALIAS[:COUNT],…")
      ->type_name("LIST");
  cmd->add_option("--engine-ports", f->engine_ports,
                  "Host ports of the engines (default 20000-20999)")
      ->type_name("FIRST-LAST");
  cmd->add_option("--carve-image", f->options.carve_image, "Image that runs the gateway")
      ->capture_default_str();
  cmd->callback(Body(g, [&g, f] { return RunDocker(g, *f); }));
}

void AddGrafana(CLI::App* render, Globals& g) {
  auto* cmd = render->add_subcommand(
      "grafana", "A Grafana dashboard (JSON to import) over carve up's /metrics: slices, models");
  auto out = std::make_shared<std::string>();
  cmd->add_option("-o,--output", *out, "Write it to FILE (default: stdout)")->type_name("FILE");
  cmd->callback(Body(g, [out] {
    std::string text = render::GrafanaDashboard();
    if (out->empty()) return fmt::print("{}", text), Status::Ok();
    return WriteFileAtomically(*out, text, /*durable=*/false);
  }));
}

}  // namespace

void AddRender(CLI::App& app, Globals& g) {
  auto* cmd =
      app.add_subcommand("render", "Render the plan for other systems (k8s, docker, grafana)");
  cmd->require_subcommand(1);
  AddK8s(cmd, g);
  AddDocker(cmd, g);
  AddGrafana(cmd, g);
}

}  // namespace carve::cli
