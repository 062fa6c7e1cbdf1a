#include <fmt/format.h>

#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

struct Objects {
  Cluster cluster;
  Json ns, mig;
  std::optional<Json> plugin;  // time-slicing configs, when slices are shared
  std::vector<Json> models, gateway;
};

Result<Objects> Build(const plan::Plan& plan, const spec::Spec& spec, const Options& o) {
  Objects out;
  CARVE_ASSIGN_OR_RETURN(out.cluster, BuildCluster(plan, o));
  if (out.cluster.workloads.empty())
    return Status::Insufficient(
        "the plan places no replica, so there is nothing to render",
        "Check `carve plan` for unmet models, or add GPUs (--nodes, --fleet).");
  out.ns =
      Json{{"apiVersion", "v1"},
           {"kind", "Namespace"},
           {"metadata", {{"name", o.ns}, {"labels", {{"app.kubernetes.io/managed-by", "carve"}}}}}};
  out.mig = MigConfigMap(out.cluster, o);
  out.plugin = DevicePluginConfigMap(out.cluster, o);
  CARVE_ASSIGN_OR_RETURN(out.models, ModelObjects(out.cluster, plan, spec, o));
  CARVE_ASSIGN_OR_RETURN(out.gateway, GatewayObjects(out.cluster, plan, spec, o));
  return out;
}

std::string Header(const Options& o) {
  return fmt::format("# Written by carve render k8s{}; edit the spec and render again.\n",
                     o.spec_file.empty() ? "" : " from " + o.spec_file);
}

}  // namespace

Result<std::vector<File>> RenderK8s(const plan::Plan& plan, const spec::Spec& spec,
                                    const Options& o) {
  CARVE_ASSIGN_OR_RETURN(Objects x, Build(plan, spec, o));
  std::string h = Header(o);
  std::vector<File> files{
      {"RUNBOOK.md", Runbook(x.cluster, plan, o)},
      {"gateway.yaml", h + ToYamlDocs(x.gateway)},
      {"karpenter.yaml", h + ToYamlDocs(KarpenterObjects(x.cluster, o))},
      {"mig-config.yaml", h + ToYaml(x.mig)},
      {"models.yaml", h + ToYamlDocs(x.models)},
      {"namespace.yaml", h + ToYaml(x.ns)},
      {"node-labels.sh", NodeLabelScript(x.cluster), true},
      {"node-labels.txt", NodeLabelList(x.cluster)},
      {"pools.md", PoolTable(x.cluster, o)},
      {"rollout.sh", RolloutScript(x.cluster, o), true},
  };
  if (x.plugin)
    files.insert(files.begin() + 1, File{"device-plugin-config.yaml", h + ToYaml(*x.plugin)});
  if (o.op == Operator::kNone)  // no MIG manager to read it
    std::erase_if(files, [](const File& f) { return f.path == "mig-config.yaml"; });
  return files;
}

Result<std::string> RenderK8sObjects(const plan::Plan& plan, const spec::Spec& spec,
                                     const Options& o) {
  CARVE_ASSIGN_OR_RETURN(Objects x, Build(plan, spec, o));
  std::vector<Json> docs{x.ns};
  if (o.op == Operator::kGpuOperator) docs.push_back(x.mig);
  if (x.plugin) docs.push_back(*x.plugin);
  docs.insert(docs.end(), x.models.begin(), x.models.end());
  docs.insert(docs.end(), x.gateway.begin(), x.gateway.end());
  return Header(o) +
         "# Node labels, the rollout script, the runbook and Karpenter pools: carve render k8s -o "
         "DIR.\n" +
         ToYamlDocs(docs);
}

}  // namespace carve::render::k8s
