// From the solver's counts to concrete GPUs: which GPU gets which layout,
// which replica goes on which slice, and at which placement. Keeps current
// slices where the plan needs the same profile (least change). Internal to plan/.
#pragma once

#include <vector>

#include "plan/problem.h"
#include "plan/solver.h"

namespace carve::plan {

struct Assignment {
  std::vector<PlannedGpu> gpus;  // every fleet GPU, in fleet order
  std::vector<Unmet> unmet;      // replicas the counts promised but no GPU could take
  int next_tp_group = 0;
  std::vector<double> left;  // [model] demand not yet placed: no replica beyond it
};

Assignment Assign(const Problem& p, const Solution& s);

// Gives every MIG slice of `g` a start (keeping current slices where it can)
// and fills memory fractions. False when the profiles admit no valid layout.
bool PlaceSlices(PlannedGpu& g, const std::vector<ModelDemand>& models);

}  // namespace carve::plan
