// A thin owner of one GLPK problem, built column by column, and a branch and
// bound whose only limit is a node count: the same input always explores the
// same tree and gives the same answer, on any machine (no wall-time limit).
// Not thread-safe (GLPK's environment is per thread). Internal to plan/.
#pragma once

#include <glpk.h>

#include <vector>

namespace carve::plan {

class Ilp {
 public:
  Ilp();
  ~Ilp();
  Ilp(const Ilp&) = delete;
  Ilp& operator=(const Ilp&) = delete;

  // A column in [0, ub] (fixed at 0 when ub <= 0) with objective `cost`.
  int Col(double ub, double cost, bool integer = true);
  // A row of GLPK type (GLP_UP, GLP_LO, GLP_FX …) with bounds.
  int Row(int type, double lb, double ub);
  // Coefficient v at (row, col); ignored when either is 0 or v is 0.
  void Add(int row, int col, double v);
  // Hands the collected coefficients to GLPK; call once, after the last Add.
  void Load();
  glp_prob* lp() const { return lp_; }
  // Each row's value (1-based) at column values `x` (1-based), from the
  // coefficients handed to Load.
  std::vector<double> Activities(const std::vector<double>& x) const;

 private:
  glp_prob* lp_;
  std::vector<int> ia_, ja_;
  std::vector<double> ar_;
};

struct MipLimits {
  int node_limit = 0;         // branch-and-bound nodes, the only budget
  std::vector<int> priority;  // columns branched on first, in this order of groups
  std::vector<double> start;  // an incumbent handed to GLPK first (1-based), empty = none
  double granularity = 0;     // every objective value is a multiple of this (0 = unknown)
};

struct MipResult {
  int status = GLP_UNDEF;  // glp_mip_status
  bool proven = false;     // the incumbent is optimal
  bool hit_limit = false;  // stopped by the node limit before a proof
  double bound = -1e300;   // best bound on the objective (rounded up to the granularity)
  int nodes = 0;
};

// Simplex on the LP relaxation; true when it is solved to optimality.
bool SolveLp(glp_prob* lp);
// Branch and bound from the current LP basis.
MipResult SolveMip(glp_prob* lp, const MipLimits& limits);

}  // namespace carve::plan
