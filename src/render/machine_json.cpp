#include "render/machine_json.h"

namespace carve::render {

using nlohmann::ordered_json;

ordered_json GpuJson(const device::Gpu& g) {
  ordered_json slices = ordered_json::array();
  for (const auto& gi : g.gpu_instances) {
    ordered_json cis = ordered_json::array();
    for (const auto& ci : gi.compute_instances)
      cis.push_back({{"ci", ci.id},
                     {"profile", ci.profile},
                     {"profile_id", ci.profile_id},
                     {"start", ci.placement.start},
                     {"size", ci.placement.size},
                     {"uuid", ci.uuid}});
    slices.push_back(
        {{"gi", gi.id},
         {"profile", gi.profile},
         {"profile_id", gi.profile_id},
         {"start", gi.placement.start},
         {"size", gi.placement.size},
         {"uuid", gi.compute_instances.empty() ? ordered_json(nullptr)
                                               : ordered_json(gi.compute_instances[0].uuid)},
         {"memory_mib", gi.memory_total_mib},
         {"memory_used_mib", gi.memory_used_mib},
         {"fault", gi.fault.empty() ? ordered_json(nullptr) : ordered_json(gi.fault)},
         {"compute_instances", cis}});
  }
  ordered_json procs = ordered_json::array();
  for (const auto& p : g.processes)
    procs.push_back({{"pid", p.pid},
                     {"name", p.name},
                     {"memory_mib", p.memory_mib},
                     {"gi", p.gi < 0 ? ordered_json(nullptr) : ordered_json(p.gi)},
                     {"ci", p.ci < 0 ? ordered_json(nullptr) : ordered_json(p.ci)}});
  return {
      {"index", g.index},
      {"uuid", g.uuid},
      {"name", g.name},
      {"model", g.model ? ordered_json(g.model->alias) : ordered_json(nullptr)},
      {"pci_bus_id", g.pci_bus_id},
      {"memory_total_mib", g.memory_total_mib},
      {"memory_used_mib", g.memory_used_mib},
      {"mig", {{"capable", g.mig_capable}, {"current", g.mig.current}, {"pending", g.mig.pending}}},
      {"slices", slices},
      {"processes", procs}};
}

ordered_json GpusJson(const std::vector<device::Gpu>& gpus) {
  ordered_json arr = ordered_json::array();
  for (const auto& g : gpus) arr.push_back(GpuJson(g));
  return {{"gpus", arr}};
}

}  // namespace carve::render
