// Layout rules: which sets of GPU instances one GPU accepts, where a profile
// can still go, and where to put slices the user gave no start for. Every
// module trusts these functions; the simulator enforces exactly them.
//
// A layout is valid iff
//   1. every slice starts at one of its profile's legal placements;
//   2. no two slices share a placement unit;
//   3. no profile exceeds its max_instances;
//   4. for each engine kind (CE, DEC, ENC, JPEG, OFA) the slices together use
//      no more than the GPU has. This one rule yields "one +me at a time" (one
//      OFA), "+me.all admits only -me profiles" (it takes every decoder) and
//      the A30's single media set;
//   5. the slices use no more compute slices than the GPU has.
// Pure functions of their arguments; thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mig/catalog.h"
#include "util/status.h"

namespace carve::mig {

// One GPU instance of a layout. `gi` is the instance id when the slice exists
// on a machine (used in messages only), -1 otherwise.
struct Slice {
  const Profile* profile = nullptr;
  int start = 0;
  int gi = -1;

  Placement placement() const { return {start, profile->size()}; }
  std::string Name() const;  // "3g.40gb@4"
  bool operator==(const Slice& o) const { return profile == o.profile && start == o.start; }
};

// A slice to place: a profile and, optionally, a start.
struct SliceRequest {
  const Profile* profile = nullptr;
  std::optional<int> start;
  const ComputeProfile* ci = nullptr;  // compute-instance sub-division; nullptr = the full CI
};

// Whether `add` can join `existing` on `gpu` (the fast form of CheckAdd).
bool Fits(const GpuModel& gpu, std::span<const Slice> existing, const Slice& add);
// Why `add` cannot join `existing` on `gpu`; Ok when it can.
Status CheckAdd(const GpuModel& gpu, std::span<const Slice> existing, const Slice& add);
// Whether `layout` is valid as a whole.
Status CheckLayout(const GpuModel& gpu, std::span<const Slice> layout);
// Starts at which `profile` could be added to `existing`, ascending.
std::vector<int> FreeStarts(const GpuModel& gpu, std::span<const Slice> existing,
                            const Profile& profile);
// How many more `profile` slices `existing` leaves room for (each at its own start).
int RemainingCapacity(const GpuModel& gpu, std::span<const Slice> existing, const Profile& profile);

// Gives every request a start so that `fixed` plus all requests is valid.
// Requests with a start keep it. Among all valid assignments the one leaving
// the most (profile, start) placements still open wins ("most room for what
// comes next"); ties go to the lowest starts, in request order. Returns the
// requests' slices in request order, or an error explaining in plain words
// why no assignment exists (units, counts, engines, alignment).
Result<std::vector<Slice>> Place(const GpuModel& gpu, std::span<const Slice> fixed,
                                 std::span<const SliceRequest> requests);

// The driver's own choice when asked for a profile with no placement
// (nvmlDeviceCreateGpuInstance): the highest free start. This reproduces the
// documented `nvidia-smi mig -cgi 19,19,14,9` failure that `9,19,14,19` avoids.
std::optional<int> DriverChosenStart(const GpuModel& gpu, std::span<const Slice> existing,
                                     const Profile& profile);

// Every valid layout of `gpu` (including the empty one), each sorted by start.
std::vector<std::vector<Slice>> EnumerateValid(const GpuModel& gpu);
// The valid layouts to which no further slice can be added.
std::vector<std::vector<Slice>> EnumerateMaximal(const GpuModel& gpu);

// Placement units held by `slices`, as a bit mask (bit u = unit u).
uint64_t UnitMask(std::span<const Slice> slices);

// "0–3, 6": the units set in `mask` (of `units`), consecutive ones as runs.
std::string UnitRuns(uint64_t mask, int units);

// Why no slice of `p` can join `layout` any more, in a few words for a table:
// "max 1 reached", "needs units 0–3: held by GI 1", "every start taken (GI 2,
// 5)", "no units free", "the only OFA is in use", "media engines in use",
// "copy engines in use", "no room". Meant for a profile with no free start.
std::string WhyNoStart(const GpuModel& gpu, std::span<const Slice> layout, const Profile& p);

}  // namespace carve::mig
