#include "plan/ilp.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace carve::plan {
namespace {

bool Trace() { return std::getenv("CARVE_GLPK_TRACE") != nullptr; }

struct Search {
  const MipLimits* limits = nullptr;
  MipResult result;
  bool given = false;  // the start was handed over
};

// Rounds a bound up to the next objective value that can exist.
double RoundUp(double bound, double granularity) {
  if (granularity <= 0) return bound;
  return std::ceil(bound / granularity - 1e-6) * granularity;
}

// Optimal once no better multiple of the granularity lies above the bound:
// GLPK does not know the objective is integral (in cost units) and would
// keep branching to close a gap smaller than one step.
void TrackBound(glp_tree* tree, Search* s) {
  int node = glp_ios_best_node(tree);
  if (!node) return;
  double bound = RoundUp(glp_ios_node_bound(tree, node), s->limits->granularity);
  s->result.bound = std::max(s->result.bound, bound);
  glp_prob* lp = glp_ios_get_prob(tree);
  if (glp_mip_status(lp) == GLP_FEAS && glp_mip_obj_val(lp) <= s->result.bound + 1e-6) {
    s->result.proven = true;
    glp_ios_terminate(tree);
  }
}

// Branches on the most fractional column of the first priority group that
// has one (GPU counts before layouts): once they are whole, what remains is a
// transportation problem whose LP is nearly integral.
void Branch(glp_tree* tree, const MipLimits& limits) {
  glp_prob* lp = glp_ios_get_prob(tree);
  int best = 0;
  double best_frac = 1e-6;
  for (int j : limits.priority) {
    if (j == 0) {  // group separator
      if (best) break;
      continue;
    }
    if (!glp_ios_can_branch(tree, j)) continue;
    double v = glp_get_col_prim(lp, j);
    double frac = std::min(v - std::floor(v), std::ceil(v) - v);
    if (frac > best_frac) best_frac = frac, best = j;
  }
  if (best) glp_ios_branch_upon(tree, best, GLP_DN_BRNCH);
}

void OnEvent(glp_tree* tree, void* info) {
  auto* s = static_cast<Search*>(info);
  int reason = glp_ios_reason(tree);
  if (reason == GLP_IBRANCH) Branch(tree, *s->limits);
  if (reason == GLP_IHEUR && !s->limits->start.empty() && !s->given) {
    s->given = true;
    glp_ios_heur_sol(tree, s->limits->start.data());
  }
  if (reason == GLP_IBINGO || reason == GLP_ISELECT) TrackBound(tree, s);
  int active = 0, current = 0, total = 0;
  glp_ios_tree_size(tree, &active, &current, &total);
  s->result.nodes = total;
  if (total > s->limits->node_limit && !s->result.proven) {
    s->result.hit_limit = true;
    glp_ios_terminate(tree);
  }
}

}  // namespace

Ilp::Ilp() : lp_(glp_create_prob()) {
  ia_.push_back(0), ja_.push_back(0), ar_.push_back(0);
  glp_set_obj_dir(lp_, GLP_MIN);
}

Ilp::~Ilp() { glp_delete_prob(lp_); }

int Ilp::Col(double ub, double cost, bool integer) {
  int j = glp_add_cols(lp_, 1);
  glp_set_col_bnds(lp_, j, ub > 0 ? GLP_DB : GLP_FX, 0, std::max(ub, 0.0));
  glp_set_col_kind(lp_, j, integer ? GLP_IV : GLP_CV);
  glp_set_obj_coef(lp_, j, cost);
  return j;
}

int Ilp::Row(int type, double lb, double ub) {
  int i = glp_add_rows(lp_, 1);
  glp_set_row_bnds(lp_, i, type, lb, ub);
  return i;
}

void Ilp::Add(int row, int col, double v) {
  if (row && col && v != 0) ia_.push_back(row), ja_.push_back(col), ar_.push_back(v);
}

void Ilp::Load() { glp_load_matrix(lp_, int(ia_.size()) - 1, ia_.data(), ja_.data(), ar_.data()); }

std::vector<double> Ilp::Activities(const std::vector<double>& x) const {
  std::vector<double> out(glp_get_num_rows(lp_) + 1, 0.0);
  for (size_t n = 1; n < ia_.size(); ++n) out[ia_[n]] += ar_[n] * x[ja_[n]];
  return out;
}

bool SolveLp(glp_prob* lp) {
  glp_term_out(Trace() ? GLP_ON : GLP_OFF);
  glp_smcp parm;
  glp_init_smcp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  return glp_simplex(lp, &parm) == 0 && glp_get_status(lp) == GLP_OPT;
}

MipResult SolveMip(glp_prob* lp, const MipLimits& limits) {
  Search s;
  s.limits = &limits;
  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.msg_lev = Trace() ? GLP_MSG_ON : GLP_MSG_OFF;
  parm.presolve = GLP_OFF;
  parm.mir_cuts = GLP_ON;
  parm.cov_cuts = GLP_ON;
  parm.gmi_cuts = GLP_ON;
  parm.fp_heur = GLP_ON;
  parm.br_tech = GLP_BR_PCH;
  parm.bt_tech = GLP_BT_BLB;
  parm.cb_func = OnEvent;
  parm.cb_info = &s;
  glp_intopt(lp, &parm);
  s.result.status = glp_mip_status(lp);
  if (s.result.status == GLP_OPT && !s.result.hit_limit) s.result.proven = true;
  if (s.result.proven && s.result.status != GLP_UNDEF && s.result.status != GLP_NOFEAS)
    s.result.bound = glp_mip_obj_val(lp);
  return s.result;
}

}  // namespace carve::plan
