// What a layout still has room for: slices per profile, and the free units no
// profile can use any more ("stranded": capacity lost to the layout's shape,
// such as unit 7 of an A100 or H100 beside three 1g slices at 4, 5 and 6).
// Pure functions of their arguments; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mig/layout.h"

namespace carve::mig {

// Units `profile` could still take in `layout`: the union of the placements
// at its free starts (bit u = unit u).
uint64_t UsableUnits(const GpuModel& gpu, std::span<const Slice> layout, const Profile& profile);

// Units that `layout` leaves free but no profile of `gpu` can use.
uint64_t StrandedUnits(const GpuModel& gpu, std::span<const Slice> layout);

struct ProfileRoom {
  const Profile* profile = nullptr;
  int count = 0;  // how many more slices of it fit (RemainingCapacity)
};

// RemainingCapacity for every profile of `gpu`, in catalogue order.
std::vector<ProfileRoom> RoomPerProfile(const GpuModel& gpu, std::span<const Slice> layout);

}  // namespace carve::mig
