#include "device/utilisation.h"

#include <fmt/format.h>

namespace carve::device {

bool HasGpm(mig::Arch arch) { return arch == mig::Arch::kHopper || arch == mig::Arch::kBlackwell; }

std::string NoUtilisationReason(const Gpu& g) {
  return fmt::format(
      "NVML gives no utilisation per MIG slice on {} ({}; its GPM metrics need Hopper or "
      "later); DCGM's profiling metrics give it (dcgm-exporter: DCGM_FI_PROF_SM_ACTIVE, "
      "DCGM_FI_PROF_DRAM_ACTIVE, DCGM_FI_PROF_PIPE_TENSOR_ACTIVE)",
      mig::ArchName(g.arch), g.name);
}

std::vector<SliceUtilisation> Unavailable(const Gpu& g, const std::string& why) {
  std::vector<SliceUtilisation> out;
  if (!g.mig.current) out.push_back({-1, std::nullopt, why});
  for (const auto& gi : g.gpu_instances) out.push_back({gi.id, std::nullopt, why});
  return out;
}

std::vector<UtilisationTarget> UtilisationTargets(const Gpu& g) {
  std::vector<UtilisationTarget> out;
  if (!g.mig.current) out.push_back({-1, fmt::format("{}/whole", g.index)});
  for (const auto& gi : g.gpu_instances)
    out.push_back(
        {gi.id,
         fmt::format("{}/{}/{}", g.index, gi.id,
                     gi.compute_instances.empty() ? "" : gi.compute_instances.front().uuid)});
  return out;
}

}  // namespace carve::device
