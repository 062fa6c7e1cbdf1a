// Managed node pools: a Karpenter NodePool + EC2NodeClass per node layout
// (the node partitions its GPUs from user data, before kubelet starts), and
// the plain values a managed-pool UI asks for.
#include <fmt/format.h>

#include <map>

#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

// Instance types with 8 of a GPU where the GPU name alone is ambiguous.
const std::map<std::string, std::string> kInstanceTypes = {{"a100-40gb", "p4d.24xlarge"},
                                                           {"a100-80gb", "p4de.24xlarge"},
                                                           {"h100-80gb", "p5.48xlarge"},
                                                           {"h200", "p5en.48xlarge"}};

Json Requirements(const NodeLayout& l) {
  Json r = Json::array({{{"key", "karpenter.sh/capacity-type"},
                         {"operator", "In"},
                         {"values", Json::array({"on-demand"})}}});
  auto it = kInstanceTypes.find(l.model->alias);
  if (it != kInstanceTypes.end() && l.gpu_count == 8) {
    r.push_back({{"key", "node.kubernetes.io/instance-type"},
                 {"operator", "In"},
                 {"values", Json::array({it->second})}});
    return r;
  }
  std::string gpu = l.model->alias.substr(0, l.model->alias.find('-'));
  r.push_back({{"key", "karpenter.k8s.aws/instance-gpu-name"},
               {"operator", "In"},
               {"values", Json::array({gpu})}});
  r.push_back({{"key", "karpenter.k8s.aws/instance-gpu-count"},
               {"operator", "In"},
               {"values", Json::array({std::to_string(l.gpu_count)})}});
  return r;
}

std::string UserData(const NodeLayout& l) {
  Cluster one;
  one.layouts = {l};
  return "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"CARVE\"\n\n--CARVE\n"
         "Content-Type: text/x-shellscript; charset=\"us-ascii\"\n\n#!/bin/bash\n"
         "# carve: partition the GPUs before kubelet starts, so no pod sees a GPU before its\n"
         "# layout (NVIDIA/gpu-operator#2415, #2670). Needs nvidia-mig-parted on the AMI.\n"
         "set -euo pipefail\nmkdir -p /etc/carve\n"
         "cat > /etc/carve/mig-config.yaml <<'CARVE_EOF'\n" +
         ToYaml(MigPartedConfig(one)) + "CARVE_EOF\n" +
         fmt::format("nvidia-mig-parted apply -f /etc/carve/mig-config.yaml -c {}\n", l.name) +
         "\n--CARVE--\n";
}

Json NodeClass(const NodeLayout& l) {
  Json annotations{{"carve.dev/device-partitioning-strategy", l.mig_capable ? "mig" : "none"}};
  if (!UniformProfile(l).empty()) annotations["carve.dev/mig-profile"] = UniformProfile(l);
  Json discovery{{"tags", {{"karpenter.sh/discovery", "CLUSTER_NAME"}}}};
  Json spec{{"amiSelectorTerms", Json::array({{{"alias", "al2023@latest"}}})},
            {"role", "KarpenterNodeRole-CLUSTER_NAME"},
            {"subnetSelectorTerms", Json::array({discovery})},
            {"securityGroupSelectorTerms", Json::array({discovery})},
            {"blockDeviceMappings",
             Json::array({{{"deviceName", "/dev/xvda"},
                           {"ebs", {{"volumeSize", "500Gi"}, {"volumeType", "gp3"}}}}})}};
  if (l.mig_capable) spec["userData"] = UserData(l);
  return Json{{"apiVersion", "karpenter.k8s.aws/v1"},
              {"kind", "EC2NodeClass"},
              {"metadata", {{"name", l.name}, {"annotations", annotations}}},
              {"spec", spec}};
}

}  // namespace

Json NodePool(const NodeLayout& l, const Options& o) {
  Json labels{{kLayoutLabel, l.name}};
  bool exo = o.cloud == Cloud::kExoscale;
  if (l.pool.fixed() && l.pool.Label().first == "carve.dev/pool")
    labels["carve.dev/pool"] = l.pool.Label().second;
  else if (l.mig_capable && !l.pool.fixed() && !(exo && ExoscaleCarves(l)))
    labels[kMigConfigLabel] = l.name;
  Json ref = exo ? Json{{"group", "karpenter.exoscale.com"},
                        {"kind", "ExoscaleNodeClass"},
                        {"name", l.name}}
                 : Json{{"group", "karpenter.k8s.aws"}, {"kind", "EC2NodeClass"}, {"name", l.name}};
  Json tmpl{
      {"metadata", {{"labels", labels}}},
      {"spec",
       {{"nodeClassRef", ref},
        {"requirements", exo ? ExoscaleRequirements(l) : Requirements(l)},
        {"taints",
         Json::array({{{"key", "nvidia.com/gpu"}, {"value", "true"}, {"effect", "NoSchedule"}}})},
        {"expireAfter", "720h"}}}};
  return Json{
      {"apiVersion", "karpenter.sh/v1"},
      {"kind", "NodePool"},
      {"metadata", {{"name", l.name}}},
      {"spec",
       {{"template", tmpl},
        {"disruption", {{"consolidationPolicy", "WhenEmpty"}, {"consolidateAfter", "10m"}}}}}};
}

namespace {

std::string Held(const NodeLayout& l) {
  std::string out;
  for (const auto& e : l.entries) out += (out.empty() ? "" : "; ") + e.Text();
  return out;
}

}  // namespace

std::string UniformProfile(const NodeLayout& l) {
  if (l.entries.size() != 1 || !l.entries[0].mig_enabled || l.entries[0].counts.size() != 1)
    return "";
  return l.entries[0].counts[0].first;
}

std::vector<Json> KarpenterObjects(const Cluster& cluster, const Options& options) {
  std::vector<Json> out;
  for (const auto& l : cluster.layouts)
    out.push_back(NodePool(l, options)),
        out.push_back(options.cloud == Cloud::kExoscale ? ExoscaleNodeClass(l) : NodeClass(l));
  return out;
}

std::string PoolTable(const Cluster& cluster, const Options& options) {
  std::string out =
      "# Node pools\n\nOne pool per node layout. A managed-pool UI that takes one MIG profile per "
      "pool "
      "(GKE `gpu-partition-size`, AKS `--gpu-instance-profile`, a node class with "
      "`device-partitioning-strategy = \"mig\"`) can hold a layout only when every GPU has the "
      "same profile; other layouts need the NodeClass user data in karpenter.yaml or the GPU "
      "Operator's MIG manager. In karpenter.yaml replace CLUSTER_NAME (AWS) or INSTANCE_TYPE "
      "(Exoscale: "
      "`exo compute instance-type list`).\n\n"
      "| pool | GPU | GPUs per node | nodes | partitioning | profile per pool | GKE "
      "gpu-partition-size | AKS gpu-instance-profile | Exoscale SKS --nvidia-mig-profile | slices "
      "per GPU |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& l : cluster.layouts) {
    std::string p = UniformProfile(l);
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", l.name,
                       l.model->alias, l.gpu_count, l.nodes.size(), l.mig_capable ? "mig" : "none",
                       !p.empty()      ? p
                       : l.mig_capable ? "— (several profiles)"
                                       : "— (whole GPUs)",
                       p.empty() ? "—" : p, p.empty() ? "—" : "MIG" + p.substr(0, p.find('.')),
                       ExoscaleCarves(l) ? p : "—", Held(l));
  }
  return out;
}

}  // namespace carve::render::k8s
