// Shared slices (`share: true`) as the device plugin's time-slicing: per node
// layout a config that advertises each slice of a resource as k shares
// (renamed <resource>.shared, so product labels and node selectors stay), and
// the check that makes the plan exact there: the plugin hands shares out in
// any order, so any k of the node's pods on that resource must fit one slice.
#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "plan/sizing.h"
#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

struct Tenants {
  int slices = 0;
  int most = 0;                                      // the most pods one slice holds
  std::vector<std::pair<double, std::string>> pods;  // (memory fraction, model)
};

std::string Where(const plan::PlannedGpu& g) {
  if (!g.gpu.node.empty()) return "node " + g.gpu.node;
  return g.gpu.pool.empty() ? "the fleet" : "pool " + g.gpu.pool;
}

Status CheckShares(const std::string& where, const std::string& resource, Tenants& t) {
  std::sort(t.pods.begin(), t.pods.end(), std::greater<>());
  double sum = 0;
  std::vector<std::string> largest;
  for (int i = 0; i < t.most && i < int(t.pods.size()); ++i)
    sum += t.pods[size_t(i)].first,
        largest.push_back(
            fmt::format("{} {:.2f}", t.pods[size_t(i)].second, t.pods[size_t(i)].first));
  if (sum <= 1.0 + 1e-9) return Status::Ok();
  return Status::NotSupported(
      fmt::format("{}: time-slicing {} makes each of its {} such slices {} shares that the device "
                  "plugin hands "
                  "out in any order, and the {} largest pods ({}) need {:.2f} of one slice",
                  where, resource, t.slices, t.most, t.most, fmt::join(largest, ", "), sum),
      "Give the shared models a slice of their own (min_profile, gpus:), or fewer share models per "
      "node, so "
      "that any group of pods the plugin may put on one slice fits it.");
}

}  // namespace

std::string SliceResource(const mig::Profile* profile, bool single) {
  return single || !profile ? "nvidia.com/gpu" : MigResourceName(profile->name);
}

Result<TimeSlices> NodeTimeSlices(const std::vector<const plan::PlannedGpu*>& gpus,
                                  const plan::Plan& plan, bool single) {
  std::map<std::string, Tenants> by;
  bool tp = false;
  for (const auto* g : gpus)
    for (const auto& s : g->slices) {
      tp = tp || (!s.replicas.empty() && s.replicas[0].tp_group >= 0);
      if (!s.replicas.empty() && s.replicas[0].tp_group >= 0) continue;
      Tenants& t = by[SliceResource(s.profile, single || g->gpu.fixed)];
      ++t.slices;
      t.most = std::max(t.most, int(s.replicas.size()));
      for (const auto& r : s.replicas)
        t.pods.push_back({plan::MemoryFraction(r.memory_mib, s.memory_mib, false),
                          plan.models[size_t(r.model)].name});
    }
  TimeSlices out;
  for (auto& [resource, t] : by) {
    if (t.most < 2) continue;
    if (tp && resource == "nvidia.com/gpu")
      return Status::NotSupported(
          fmt::format("{}: whole GPUs would be time-sliced for shared models beside a "
                      "tensor-parallel group, "
                      "whose pods need whole, unshared GPUs",
                      Where(*gpus.front())),
          "Pin the share models (gpus:) to other GPU models, or drop share: true for them.");
    CARVE_RETURN_IF_ERROR(CheckShares(Where(*gpus.front()), resource, t));
    out[resource] = t.most;
  }
  return out;
}

Json DevicePluginConfig(const NodeLayout& l) {
  Json resources = Json::array();
  for (const auto& [name, replicas] : l.time_slices)
    resources.push_back({{"name", name}, {"replicas", replicas}});
  std::string strategy = l.pool.fixed() ? "single" : l.mig_capable ? "mixed" : "none";
  return Json{{"version", "v1"},
              {"flags", {{"migStrategy", strategy}}},
              {"sharing",
               {{"timeSlicing",
                 {{"renameByDefault", true},
                  {"failRequestsGreaterThanOne", true},
                  {"resources", resources}}}}}};
}

std::optional<Json> DevicePluginConfigMap(const Cluster& cluster, const Options& o) {
  Json data = Json::object();
  for (const auto& l : cluster.layouts)
    if (!l.time_slices.empty()) data[l.name] = ToYaml(DevicePluginConfig(l));
  if (data.empty()) return std::nullopt;
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata",
               {{"name", kDevicePluginConfigMap},
                {"namespace", o.operator_ns},
                {"labels", {{"app.kubernetes.io/managed-by", "carve"}}}}},
              {"data", data}};
}

}  // namespace carve::render::k8s
