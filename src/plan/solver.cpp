#include "plan/solver.h"

#include <glpk.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace carve::plan {
namespace {

// A GLPK problem built column by column, with its matrix kept as triplets.
class Ilp {
 public:
  Ilp() : lp_(glp_create_prob()) { ia_.push_back(0), ja_.push_back(0), ar_.push_back(0); }
  ~Ilp() { glp_delete_prob(lp_); }
  Ilp(const Ilp&) = delete;
  Ilp& operator=(const Ilp&) = delete;

  int Col(double ub, double cost, bool integer = true) {
    int j = glp_add_cols(lp_, 1);
    glp_set_col_bnds(lp_, j, ub > 0 ? GLP_DB : GLP_FX, 0, std::max(ub, 0.0));
    glp_set_col_kind(lp_, j, integer ? GLP_IV : GLP_CV);
    glp_set_obj_coef(lp_, j, cost);
    return j;
  }
  int Row(int type, double lb, double ub) {
    int i = glp_add_rows(lp_, 1);
    glp_set_row_bnds(lp_, i, type, lb, ub);
    return i;
  }
  void Add(int row, int col, double v) {
    if (row && col && v != 0) ia_.push_back(row), ja_.push_back(col), ar_.push_back(v);
  }
  void Load() { glp_load_matrix(lp_, int(ia_.size()) - 1, ia_.data(), ja_.data(), ar_.data()); }
  glp_prob* lp() { return lp_; }

 private:
  glp_prob* lp_;
  std::vector<int> ia_, ja_;
  std::vector<double> ar_;
};

// Column ids of every variable (0 = absent).
struct Cols {
  std::vector<std::vector<int>> y, s, w;
  std::vector<std::vector<std::vector<int>>> x, z;
  std::vector<int> u;
};

struct Callback {
  int node_limit = 0;
  std::vector<int> first;     // columns to branch on before any other (the y)
  std::vector<double> start;  // an incumbent to hand GLPK first (1-based), empty = none
  bool given = false;
  double granularity = 0;  // every objective value is a multiple of this (0 = unknown)
  bool proven = false;     // incumbent within one granule of the best bound
  double bound = -1e300;   // best bound seen, rounded up to the granularity
};

// Optimal once no better multiple of the granularity lies above the bound:
// GLPK does not know the objective is integral (in cost units) and would
// keep branching to close a gap smaller than one step.
void CheckGranularity(glp_tree* tree, Callback* cb) {
  if (cb->granularity <= 0) return;
  int node = glp_ios_best_node(tree);
  if (!node) return;
  double g = cb->granularity;
  double bound = std::ceil(glp_ios_node_bound(tree, node) / g - 1e-6) * g;
  cb->bound = std::max(cb->bound, bound);
  glp_prob* lp = glp_ios_get_prob(tree);
  if (glp_mip_status(lp) == GLP_FEAS && glp_mip_obj_val(lp) <= cb->bound + 1e-6) {
    cb->proven = true;
    glp_ios_terminate(tree);
  }
}

// Branches on the most fractional GPU count (y) first: once every y is whole,
// what remains is a transportation problem whose LP is (nearly) integral, so
// branching on x or u first only multiplies nodes.
void BranchOnGpus(glp_tree* tree, const Callback& cb) {
  glp_prob* lp = glp_ios_get_prob(tree);
  int best = 0;
  double best_frac = 1e-6;
  for (int j : cb.first) {
    if (!glp_ios_can_branch(tree, j)) continue;
    double v = glp_get_col_prim(lp, j), frac = std::min(v - std::floor(v), std::ceil(v) - v);
    if (frac > best_frac) best_frac = frac, best = j;
  }
  if (best) glp_ios_branch_upon(tree, best, GLP_UP_BRNCH);
}

void OnEvent(glp_tree* tree, void* info) {
  auto* cb = static_cast<Callback*>(info);
  if (glp_ios_reason(tree) == GLP_IBRANCH) BranchOnGpus(tree, *cb);
  if (glp_ios_reason(tree) == GLP_IHEUR && !cb->start.empty() && !cb->given) {
    cb->given = true;
    glp_ios_heur_sol(tree, cb->start.data());
  }
  if (glp_ios_reason(tree) == GLP_IBINGO || glp_ios_reason(tree) == GLP_ISELECT) CheckGranularity(tree, cb);
  int active = 0, current = 0, total = 0;
  glp_ios_tree_size(tree, &active, &current, &total);
  if (total > cb->node_limit) glp_ios_terminate(tree);
}

// The greatest common divisor of the GPU costs when they are whole numbers; 0 otherwise.
double Granularity(const Problem& p) {
  long g = 0;
  for (const auto& t : p.types) {
    if (t.cost != std::floor(t.cost) || t.cost <= 0) return 0;
    long c = long(t.cost);
    while (c) std::swap(g, c), c %= g;
  }
  return double(g);
}

// Above the whole fleet's cost, and a multiple of the granularity.
double Penalty(const Problem& p) {
  double total = 0;
  for (const auto& t : p.types) total += t.cost * double(t.members.size());
  double g = Granularity(p);
  return total + (g > 0 ? g : 1);
}

double Best(const Problem& p, size_t i) {
  double best = p.tp_fit[i].value;
  for (const auto& kinds : p.fit)
    for (const auto& row : kinds) best = std::max(best, row[i].value);
  return best;
}

Cols Build(const Problem& p, Ilp& ilp) {
  const auto& models = p.request->models;
  size_t nt = p.types.size(), nm = models.size();
  Cols c;
  c.y.resize(nt), c.s.resize(nt), c.w.resize(nt), c.x.resize(nt), c.z.resize(nt);
  c.u.assign(nm, 0);
  std::vector<int> demand_row(nm, 0);
  for (size_t i = 0; i < nm; ++i) {
    if (p.excluded[i] || p.demand[i] <= 0) continue;
    double best = Best(p, i);
    demand_row[i] = ilp.Row(GLP_LO, p.demand[i] / best, 0);
    // Integer: any shortfall, however small, costs more than the whole fleet.
    c.u[i] = ilp.Col(std::ceil(p.demand[i] / best), Penalty(p));
    ilp.Add(demand_row[i], c.u[i], 1);
  }
  for (size_t t = 0; t < nt; ++t) {
    const GpuType& type = p.types[t];
    double n = double(type.members.size());
    int count_row = ilp.Row(GLP_UP, 0, n);
    size_t nk = type.kinds.size();
    std::vector<int> slot_row(nk), any_row;
    for (size_t k = 0; k < nk; ++k) slot_row[k] = ilp.Row(GLP_UP, 0, 0);
    for (const auto& l : type.layouts) {
      int col = ilp.Col(n, type.cost);
      c.y[t].push_back(col);
      ilp.Add(count_row, col, 1);
      for (size_t k = 0; k < nk; ++k) ilp.Add(slot_row[k], col, -l.count[k]);
    }
    c.x[t].assign(nk, std::vector<int>(nm, 0));
    c.z[t].assign(nk, std::vector<int>(nm, 0));
    c.s[t].assign(nk, 0);
    c.w[t].assign(nm, 0);
    for (size_t k = 0; k < nk; ++k) {
      int most = 0;
      for (const auto& l : type.layouts) most = std::max(most, l.count[k]);
      double cap = most * n;
      int mem_row = 0;
      for (size_t i = 0; i < nm; ++i) {
        const Fit& f = p.fit[t][k][i];
        if (f.value <= 0 || !demand_row[i]) continue;
        const ModelDemand& m = models[i];
        double best = Best(p, i);
        int col = ilp.Col(cap, 0);
        (m.share ? c.z : c.x)[t][k][i] = col;
        ilp.Add(slot_row[k], m.share ? 0 : col, 1);
        ilp.Add(demand_row[i], col, f.value / best);
        if (!m.share) continue;
        if (!c.s[t][k]) {
          c.s[t][k] = ilp.Col(cap, 0);
          ilp.Add(slot_row[k], c.s[t][k], 1);
          mem_row = ilp.Row(GLP_UP, 0, 0);
          ilp.Add(mem_row, c.s[t][k], -double(type.kinds[k].memory_mib));
        }
        ilp.Add(mem_row, col, double(m.memory_mib));
        int one_row = ilp.Row(GLP_UP, 0, 0);
        ilp.Add(one_row, col, 1), ilp.Add(one_row, c.s[t][k], -1);
      }
    }
    for (size_t i = 0; i < nm; ++i) {
      int k = p.tp[t][i];
      if (!k || !demand_row[i]) continue;
      c.w[t][i] = ilp.Col(std::floor(n / k), type.cost * k);
      ilp.Add(count_row, c.w[t][i], k);
      ilp.Add(demand_row[i], c.w[t][i], p.tp_fit[i].value / Best(p, i));
    }
    // spread: one replica of i per GPU, in total and per kind.
    for (size_t i = 0; i < nm; ++i) {
      if (!models[i].spread || !demand_row[i]) continue;
      int total_row = ilp.Row(GLP_UP, 0, 0);
      for (size_t l = 0; l < type.layouts.size(); ++l) ilp.Add(total_row, c.y[t][l], -1);
      for (size_t k = 0; k < nk; ++k) {
        int col = c.x[t][k][i] ? c.x[t][k][i] : c.z[t][k][i];
        if (!col) continue;
        ilp.Add(total_row, col, 1);
        int kind_row = ilp.Row(GLP_UP, 0, 0);
        ilp.Add(kind_row, col, 1);
        for (size_t l = 0; l < type.layouts.size(); ++l)
          if (type.layouts[l].count[k] > 0) ilp.Add(kind_row, c.y[t][l], -1);
      }
    }
  }
  return c;
}

int Val(glp_prob* lp, int col) { return col ? int(std::lround(glp_mip_col_val(lp, col))) : 0; }

Solution Read(const Problem& p, glp_prob* lp, const Cols& c) {
  Solution s;
  s.found = true;
  auto read2 = [&](const std::vector<std::vector<int>>& cols) {
    std::vector<std::vector<int>> out(cols.size());
    for (size_t a = 0; a < cols.size(); ++a)
      for (int col : cols[a]) out[a].push_back(Val(lp, col));
    return out;
  };
  s.y = read2(c.y), s.s = read2(c.s), s.w = read2(c.w);
  for (size_t t = 0; t < c.x.size(); ++t) s.x.push_back(read2(c.x[t])), s.z.push_back(read2(c.z[t]));
  for (int col : c.u) s.shortfall.push_back(col ? std::max(0.0, glp_mip_col_val(lp, col)) : 0);
  return s;
}

// Runs branch and bound from the current LP basis. Returns the MIP status.
int RunMip(glp_prob* lp, double seconds, Callback* cb) {
  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.msg_lev = std::getenv("CARVE_GLPK_TRACE") ? GLP_MSG_ON : GLP_MSG_OFF;
  parm.presolve = GLP_OFF;
  parm.mir_cuts = GLP_ON;
  parm.cov_cuts = GLP_ON;
  parm.gmi_cuts = GLP_ON;
  parm.fp_heur = GLP_ON;
  parm.br_tech = GLP_BR_PCH;
  parm.bt_tech = GLP_BT_BLB;
  parm.tm_lim = std::max(1, int(seconds * 1000));
  parm.cb_func = OnEvent;
  parm.cb_info = cb;
  glp_intopt(lp, &parm);
  return glp_mip_status(lp);
}

bool SolveLp(glp_prob* lp) {
  glp_smcp parm;
  glp_init_smcp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  return glp_simplex(lp, &parm) == 0 && glp_get_status(lp) == GLP_OPT;
}

}  // namespace

Solution Solve(const Problem& p, const PlanOptions& options) {
  glp_term_out(std::getenv("CARVE_GLPK_TRACE") ? GLP_ON : GLP_OFF);
  Ilp ilp;
  Cols cols = Build(p, ilp);
  ilp.Load();
  glp_prob* lp = ilp.lp();
  glp_set_obj_dir(lp, GLP_MIN);
  if (glp_get_num_cols(lp) == 0 || !SolveLp(lp)) return Solution{};
  double lp_bound = glp_get_obj_val(lp);
  bool exact = p.total_gpus <= options.exact_max_gpus;
  Callback cb;
  cb.node_limit = exact ? 200000 : 2000;
  cb.granularity = Granularity(p);
  for (const auto& ys : cols.y) cb.first.insert(cb.first.end(), ys.begin(), ys.end());
  for (const auto& ws : cols.w)
    for (int w : ws)
      if (w) cb.first.push_back(w);
  // Phase 1 gets most of the budget; phase 2 only polishes.
  int status = RunMip(lp, options.time_limit_s * 0.7, &cb);
  if (status != GLP_OPT && status != GLP_FEAS) return Solution{};
  Solution sol = Read(p, lp, cols);
  double penalty = Penalty(p), unmet = 0;
  for (double u : sol.shortfall) unmet += u;
  sol.optimal = status == GLP_OPT || cb.proven;
  sol.objective = std::round((glp_mip_obj_val(lp) - penalty * unmet) * 1000) / 1000;  // float noise
  double bound = std::max(0.0, std::max(lp_bound, cb.bound) - penalty * unmet);
  double g = p.costed ? Granularity(p) : 1;
  if (g > 0) bound = std::ceil(bound / g - 1e-6) * g;  // objective values are multiples of g
  sol.lower_bound = sol.optimal ? sol.objective : std::min(bound, sol.objective);
  if (sol.lower_bound >= sol.objective - 1e-9) sol.optimal = true;
  if (!exact && !sol.optimal) return sol;

  // Phase 2: the same cost, the least slice memory handed out.
  int n = glp_get_num_cols(lp);
  std::vector<double> start(n + 1, 0.0);
  int keep = ilp.Row(GLP_UP, 0, glp_mip_obj_val(lp) + 1e-6);
  std::vector<int> idx(1, 0);
  std::vector<double> val(1, 0);
  for (int j = 1; j <= n; ++j) {
    start[j] = glp_mip_col_val(lp, j);
    double c = glp_get_obj_coef(lp, j);
    if (c != 0) idx.push_back(j), val.push_back(c);
    glp_set_obj_coef(lp, j, 0);
  }
  glp_set_mat_row(lp, keep, int(idx.size()) - 1, idx.data(), val.data());
  for (size_t t = 0; t < p.types.size(); ++t)
    for (size_t k = 0; k < p.types[t].kinds.size(); ++k) {
      const Kind& kind = p.types[t].kinds[k];
      double weight = kind.memory_mib / 1024.0 + 0.01 * kind.compute;
      for (size_t i = 0; i < p.request->models.size(); ++i)
        if (cols.x[t][k][i]) glp_set_obj_coef(lp, cols.x[t][k][i], weight);
      if (cols.s[t][k]) glp_set_obj_coef(lp, cols.s[t][k], weight);
    }
  if (!SolveLp(lp)) return sol;
  Callback cb2;
  cb2.node_limit = exact ? 50000 : 1000;
  cb2.start = start;
  cb2.first = cb.first;
  status = RunMip(lp, options.time_limit_s * 0.3, &cb2);
  if (status != GLP_OPT && status != GLP_FEAS) return sol;
  Solution refined = Read(p, lp, cols);
  refined.optimal = sol.optimal, refined.objective = sol.objective, refined.lower_bound = sol.lower_bound;
  return refined;
}

}  // namespace carve::plan
