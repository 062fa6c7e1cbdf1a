#include "mig/capacity.h"

namespace carve::mig {

uint64_t UsableUnits(const GpuModel& gpu, std::span<const Slice> layout, const Profile& profile) {
  uint64_t could = 0;
  for (int start : FreeStarts(gpu, layout, profile))
    could |= ((uint64_t{1} << profile.size()) - 1) << start;
  return could;
}

uint64_t StrandedUnits(const GpuModel& gpu, std::span<const Slice> layout) {
  uint64_t all =
      gpu.placement_units >= 64 ? ~uint64_t{0} : (uint64_t{1} << gpu.placement_units) - 1;
  uint64_t usable = 0;
  for (const auto& p : gpu.profiles) usable |= UsableUnits(gpu, layout, p);
  return all & ~UnitMask(layout) & ~usable;
}

std::vector<ProfileRoom> RoomPerProfile(const GpuModel& gpu, std::span<const Slice> layout) {
  std::vector<ProfileRoom> out;
  for (const auto& p : gpu.profiles) out.push_back({&p, RemainingCapacity(gpu, layout, p)});
  return out;
}

}  // namespace carve::mig
