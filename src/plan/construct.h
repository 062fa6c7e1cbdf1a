// A fast constructive plan in the solver's counts (solver.h): GPUs opened one
// at a time, each of the type and layout that covers the most outstanding
// demand per unit of cost, its slots filled greedily (a model that needs a
// large slice first, share models by pattern, spread models once per GPU),
// tensor-parallel groups before slices. Linear in GPUs × layouts × slots, and
// feasible by construction; the branch and bound starts from it, so a search
// cut short at its node limit still returns this plan or a better one. It
// leaves demand unmet only when it runs out of GPUs. Internal to plan/.
#pragma once

#include "plan/problem.h"
#include "plan/solver.h"

namespace carve::plan {

// Counts only: y, x, z, v, w (shortfall is left to the solver's rows).
Solution Construct(const Problem& p);

}  // namespace carve::plan
