// The packing model and its solution (GLPK). Aggregated by GPU type, so
// identical GPUs create no symmetry for branch and bound:
//
//   n[t]       GPUs of type t used                         cost c_t each
//   y[t][l]    GPUs of type t given layout counts l
//   x[t][k][i] replicas of model i on kind-k slices of t
//   v[t][k][P] kind-k slices of t shared by the share:true models of
//              pattern P (a maximal set whose memory fits the slice),
//   z[t][k][i] replicas of share model i on those slices
//   w[t][i]    tensor-parallel replicas of i, tp[t][i] whole GPUs each
//   u[i]       unmet demand of i, in replicas, at a price above any fleet
//
//   n = Σ_l y + Σ_i tp·w ≤ |t|               (GPUs of the type)
//   Σ_i x[t][k][i] + Σ_P v[t][k][P] ≤ Σ_l l_k·y   (slots of each kind)
//   z[t][k][i] ≤ Σ_{P ∋ i} v[t][k][P]        (a shared slice holds one replica
//                                             of each model of its pattern)
//   Σ value·(x + z + w) + best_i·u_i ≥ D_i   (demand)
//   spread: Σ_k x[t][k][i] ≤ Σ_l y,  x[t][k][i] ≤ Σ_{l ∋ k} y
//
// Phase 1 minimises cost (GPUs), branching on n first, from the constructive
// plan (construct.h) as its first incumbent, so a search cut short still
// returns that plan or a better one; phase 2 fixes the cost and minimises the
// slice memory handed out. The budget is a node count
// (PlanOptions), never wall time. docs/planning.md states what is exact.
#pragma once

#include <vector>

#include "plan/problem.h"

namespace carve::plan {

struct Solution {
  bool found = false;
  bool optimal = false;      // phase 1 proven optimal
  bool hit_limit = false;    // phase 1 stopped at its node limit
  int nodes = 0;             // phase 1 branch-and-bound nodes
  double objective = 0;      // phase 1: cost (or GPUs) of the GPUs used
  double lower_bound = 0;    // on that objective
  bool exact = false;        // the search had the large budget (PlanOptions)
  bool constructed = false;  // the constructive plan was a valid start (tests check it always is)
  std::vector<std::vector<int>> y, w;                  // [type][layout], [type][model]
  std::vector<std::vector<std::vector<int>>> x, z, v;  // [type][kind][model or pattern]
  std::vector<double> shortfall;                       // [model] replica-equivalents unmet
};

Solution Solve(const Problem& p, const PlanOptions& options);

}  // namespace carve::plan
