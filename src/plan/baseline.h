// The two baselines carve's plans are compared with (--compare):
//   "whole GPU": every replica on a whole GPU of its own, as without MIG;
//   "first fit": each replica on its smallest fitting profile, first-fit
//   decreasing over the GPUs in fleet order (how people size slices by hand).
// Internal to plan/.
#pragma once

#include "plan/problem.h"

namespace carve::plan {

BaselineResult WholeGpuBaseline(const Problem& p);
BaselineResult FirstFitBaseline(const Problem& p);

}  // namespace carve::plan
