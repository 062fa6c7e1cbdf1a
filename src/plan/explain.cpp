#include "plan/explain.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "plan/sizing.h"

namespace carve::plan {
namespace {

std::string GiB(uint64_t mib) { return fmt::format("{:.1f} GiB", mib / 1024.0); }

std::string FleetSummary(const Problem& p) {
  std::vector<std::string> seen;  // once each: `plan --pools` offers one menu to many pools
  for (const auto& t : p.types) {
    std::string item = fmt::format("{}× {}", t.members.size(), t.model->alias);
    if (std::find(seen.begin(), seen.end(), item) == seen.end()) seen.push_back(item);
  }
  return fmt::format("{}", fmt::join(seen, ", "));
}

// The largest single slot (slice or whole GPU) among the allowed GPU types.
std::pair<uint64_t, std::string> Largest(const ModelDemand& m, const Problem& p) {
  uint64_t best = 0;
  std::string where;
  for (const auto& t : p.types) {
    if (!m.gpus.empty() && std::find(m.gpus.begin(), m.gpus.end(), t.model->alias) == m.gpus.end())
      continue;
    for (const auto& k : t.kinds)
      if (k.memory_mib > best)
        best = k.memory_mib, where = k.profile ? fmt::format("{} on {}", k.name, t.model->alias)
                                               : fmt::format("a whole {}", k.name);
  }
  return {best, where};
}

// What a whole-GPU tensor-parallel group would take on each GPU model.
std::string GroupAlternatives(const ModelDemand& m, const Problem& p) {
  std::string out;
  for (const auto& t : p.types) {
    if (t.fixed) {  // carved already: its GPUs are never whole, so never a group
      out += fmt::format("{}a pool of {} with a larger profile than its fixed {}",
                         out.empty() ? "" : "; ", t.model->alias, t.fixed->name);
      continue;
    }
    for (int k : {2, 4, 8}) {
      if (PerGpuMiB(m.memory_mib, m.overhead_mib, k) > t.model->memory_mib) continue;
      out += fmt::format("{}{}× {} as one tensor-parallel group (the fleet has {})",
                         out.empty() ? "" : "; ", k, t.model->alias, t.members.size());
      break;
    }
  }
  return out;
}

// The most one replica can have in a tensor-parallel group of whole GPUs of
// one model (of 2, 4 or 8 GPUs, within the fleet's count): "2× h100-80gb,
// 157.3 GiB"; "" when the fleet has no pair of allowed GPUs.
std::string LargestGroup(const ModelDemand& m, const Problem& p) {
  uint64_t best = 0;
  std::string out;
  for (const auto& t : p.types) {
    if (t.fixed || (!m.gpus.empty() &&
                    std::find(m.gpus.begin(), m.gpus.end(), t.model->alias) == m.gpus.end()))
      continue;
    int k = 0;
    for (int n : {2, 4, 8})
      if (n <= int(t.members.size())) k = n;
    uint64_t overhead = std::min(m.overhead_mib, t.model->memory_mib);
    uint64_t holds = k * (t.model->memory_mib - overhead) + overhead;
    if (k > 0 && holds > best)
      best = holds, out = fmt::format("{}× {}, {}", k, t.model->alias, GiB(holds));
  }
  return out;
}

}  // namespace

std::string TensorParallelAcrossSlices() {
  return "tensor parallelism runs over whole GPUs only: a CUDA process sees one MIG device, and "
         "MIG slices have no peer-to-peer path, so slices (even of one GPU) cannot form a "
         "tensor-parallel group";
}

std::string WhyNoFit(const ModelDemand& m, const Problem& p) {
  bool any_allowed = m.gpus.empty();
  for (const auto& t : p.types)
    any_allowed =
        any_allowed || std::find(m.gpus.begin(), m.gpus.end(), t.model->alias) != m.gpus.end();
  if (!any_allowed)
    return fmt::format(
        "pinned to gpus [{}], but the fleet has none of them (fleet: {}); "
        "widen 'gpus' or add such GPUs to the fleet",
        fmt::join(m.gpus, ", "), FleetSummary(p));
  if (m.tensor_parallel > 1)
    return fmt::format(
        "asks for tensor_parallel {}: that needs {} whole GPUs of one model, each "
        "holding {}, and this fleet (fleet: {}) has no such group; {}",
        m.tensor_parallel, m.tensor_parallel,
        GiB(PerGpuMiB(m.memory_mib, m.overhead_mib, m.tensor_parallel)), FleetSummary(p),
        TensorParallelAcrossSlices());
  auto [largest, where] = Largest(m, p);
  if (m.memory_mib > largest) {
    std::string alt = GroupAlternatives(m, p), group = LargestGroup(m, p);
    std::string what_to_do =
        !alt.empty() ? "Alternatives: " + alt +
                           "; or a smaller dtype / shorter max_model_len; small "
                           "models can still use the big cards' slices"
                     : fmt::format(
                           "No group of whole GPUs of one model in this fleet holds it either{}: "
                           "use a smaller dtype (fp8, int4) or a shorter max_model_len, or add "
                           "larger GPUs",
                           group.empty() ? "" : " (the largest: " + group + ")");
    return fmt::format(
        "needs {} per replica; the largest slice in this fleet is {} ({}). It cannot be split "
        "over slices: {}. {}",
        GiB(m.memory_mib), GiB(largest), where, TensorParallelAcrossSlices(), what_to_do);
  }
  if (!m.min_profile.empty())
    return fmt::format(
        "min_profile {}: no GPU in this fleet (fleet: {}) offers a slice at least "
        "that large (the largest: {}), and a tensor-parallel group counts only if "
        "each of its GPUs does; lower min_profile or add such GPUs",
        m.min_profile, FleetSummary(p), where);
  if (!m.options.empty()) {
    std::string named;
    for (const auto& o : m.options)
      named += fmt::format("{}{} ({} ms)", named.empty() ? "" : ", ", o.profile, o.latency_ms);
    if (m.latency_slo_ms > 0)
      return fmt::format(
          "no measured profile on this fleet meets latency_slo_ms {} ms (rows: {}); "
          "relax the SLO or measure other profiles",
          m.latency_slo_ms, named);
    return fmt::format(
        "its measured profiles ({}) exist on no GPU in this fleet (fleet: {}); "
        "measure profiles these GPUs offer (`carve catalog MODEL`)",
        named, FleetSummary(p));
  }
  return "no slice in this fleet can hold it";
}

}  // namespace carve::plan
