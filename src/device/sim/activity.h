// The simulator's utilisation: a slice is as busy as the work its processes
// report in their activity files (util/activity_file.h) costs on its compute
// slices. A sample is the summed counts at an instant; two samples give the
// utilisation between them, as NVML's GPM does with two of its samples.
//
// The cost model, per compute slice: 2,000 generated tokens or 8,000 prompt
// tokens a second keep its SMs busy. Prompt tokens (prefill) lean on the
// tensor cores, generated ones (decode) on memory bandwidth. A bigger slice
// takes the same work less busily; work beyond a slice's rate reads as 100%.
#pragma once

#include <cstdint>

#include "device/machine.h"
#include "util/activity_file.h"

namespace carve::device::sim {

struct ActivitySample {
  int64_t t_ns = 0;        // CLOCK_MONOTONIC, shared by every process of the host
  ActivityCounts counts;   // summed over the processes on the slice
  int compute_slices = 1;  // of the slice (of the GPU when MIG is off)
};

// Now, on CLOCK_MONOTONIC.
int64_t MonotonicNs();

// The utilisation from `a` to `b` (b later; counts that went down, as when a
// process left, count as no work).
Utilisation Between(const ActivitySample& a, const ActivitySample& b);

}  // namespace carve::device::sim
