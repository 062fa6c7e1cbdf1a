// Whole-slice operations over a Machine, all or nothing: create GPU instances
// with their compute instances, destroy them compute instances first. Shared
// by `carve mig` and `carve apply`.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "device/machine.h"
#include "mig/layout.h"

namespace carve::device {

struct CreatedSlice {
  GpuInstance gi;  // with the compute instances made in it
};

// The GPU's current slices as layout slices (for mig/ rule checks).
std::vector<mig::Slice> SlicesOf(const Gpu& gpu);

// Places `requests` around what `gpu` holds (mig::Place: the most room for
// what comes next) and creates each GPU instance and, unless `gi_only`, its
// compute instance (the request's sub-division, or the full one). When any
// step fails, whatever this call created is destroyed again and the error
// says what happened, including anything that could not be undone.
// `progress` hears of each slice as soon as it exists (for a terminal).
Result<std::vector<CreatedSlice>> CreateSlices(
    Machine& m, const Gpu& gpu, std::span<const mig::SliceRequest> requests, bool gi_only,
    const std::function<void(const CreatedSlice&)>& progress = {});

// Creates compute instances of `profiles` in GPU instance `gi`, all or nothing.
Result<std::vector<ComputeInstance>> CreateComputeInstances(
    Machine& m, const Gpu& gpu, int gi, std::span<const mig::ComputeProfile* const> profiles);

struct DestroyReport {
  std::vector<std::string> destroyed;  // "3g.40gb@4 (GI 2)"
  std::vector<Process> stopped;        // processes --force stopped
};

// Destroys GPU instances `gis` (compute instances first). Refuses before
// touching anything when a process uses one of them, unless `force`, which
// stops those processes first.
Result<DestroyReport> DestroySlices(Machine& m, const Gpu& gpu, const std::vector<int>& gis,
                                    bool force);

// Destroys compute instances and leaves their GPU instances (nvidia-smi mig
// -dci): in each GPU instance of `gis`, the compute instances `cis` (empty:
// all of them). kNotFound, before touching anything, when a GPU instance or a
// named compute instance does not exist; kInUse when a process uses one,
// unless `force`, which stops those processes first.
Result<DestroyReport> DestroyComputeInstances(Machine& m, const Gpu& gpu,
                                              const std::vector<int>& gis,
                                              const std::vector<int>& cis, bool force);

}  // namespace carve::device
