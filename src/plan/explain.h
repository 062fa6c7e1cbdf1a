// Plain-words reasons for demand the fleet cannot meet: what is missing,
// why, and what would work instead. Internal to plan/.
#pragma once

#include <string>

#include "plan/problem.h"

namespace carve::plan {

// Why no slice or GPU group of the fleet can hold one replica of `m`.
std::string WhyNoFit(const ModelDemand& m, const Problem& p);

// Why tensor parallelism over MIG slices is refused, and what works instead.
std::string TensorParallelAcrossSlices();

}  // namespace carve::plan
