#include "plan/solver.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "plan/construct.h"
#include "plan/ilp.h"

namespace carve::plan {
namespace {

// Column ids of every variable (0 = absent).
struct Cols {
  std::vector<int> n;  // [type] GPUs used
  std::vector<std::vector<int>> y, w;
  std::vector<std::vector<std::vector<int>>> x, z, v;
  std::vector<int> u;
  std::vector<std::vector<int>> u_rows;  // [model] the rows u[i] makes up for
};

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

// Builds the program of solver.h into an Ilp.
class Builder {
 public:
  Builder(const Problem& p, Ilp& ilp) : p_(p), ilp_(ilp), nm_(p.request->models.size()) {}

  Cols Build() {
    DemandRows();
    for (size_t t = 0; t < p_.types.size(); ++t) {
      TypeCols(t);
      for (size_t k = 0; k < p_.types[t].kinds.size(); ++k) KindCols(t, k);
      TensorParallelCols(t);
      for (size_t i = 0; i < nm_; ++i)
        if (p_.request->models[i].spread && demand_row_[i]) SpreadRows(t, i);
    }
    return std::move(c_);
  }

 private:
  // Σ value·(x + z + w) + u ≥ demand, in units of the model's best replica.
  void DemandRows() {
    c_.u.assign(nm_, 0);
    c_.u_rows.assign(nm_, {});
    demand_row_.assign(nm_, 0);
    replicas_row_.assign(nm_, 0);
    for (size_t i = 0; i < nm_; ++i) {
      if (p_.excluded[i] || p_.demand[i] <= 0) continue;
      double need = p_.demand[i] / BestValue(p_, i);
      // Beyond what any plan holds the model is unmet either way; the cap keeps
      // the LP's numbers sane (and finite: 1e12 / 1e-300). Keeping the
      // fraction keeps ⌈need − served⌉ off by a constant: the same optimum.
      double most = p_.most_replicas[i];
      if (!(need <= most)) need = most + (std::isfinite(need) ? need - std::floor(need) : 0);
      demand_row_[i] = ilp_.Row(GLP_LO, need, 0);
      // Integer: any shortfall, however small, costs more than the whole fleet.
      c_.u[i] = ilp_.Col(std::ceil(need - 1e-9), Penalty(p_));
      ilp_.Add(demand_row_[i], c_.u[i], 1);
      c_.u_rows[i].push_back(demand_row_[i]);
      // No replica covers more than the best one, so at least ⌈need⌉ of them
      // (a rounding of the demand row the LP alone does not see).
      if (p_.request->models[i].throughput <= 0) continue;
      replicas_row_[i] = ilp_.Row(GLP_LO, std::ceil(need - 1e-9), 0);
      ilp_.Add(replicas_row_[i], c_.u[i], 1);
      c_.u_rows[i].push_back(replicas_row_[i]);
    }
  }

  // Column `col` serves model i, each unit worth `value` of its demand.
  void Serves(size_t i, int col, double value) {
    ilp_.Add(demand_row_[i], col, value / BestValue(p_, i));
    ilp_.Add(replicas_row_[i], col, 1);
  }

  // n[t] = Σ_l y[t][l] + Σ_i tp·w[t][i] GPUs, each at the type's cost, and
  // Σ_i x[t][k][i] + s[t][k] ≤ Σ_l count_k(l)·y[t][l] slots per kind.
  void TypeCols(size_t t) {
    const GpuType& type = p_.types[t];
    double n = double(type.members.size());
    c_.n.push_back(ilp_.Col(n, type.cost));
    count_row_ = ilp_.Row(GLP_FX, 0, 0);
    ilp_.Add(count_row_, c_.n[t], -1);
    slot_row_.clear();
    for (size_t k = 0; k < type.kinds.size(); ++k) slot_row_.push_back(ilp_.Row(GLP_UP, 0, 0));
    c_.y.emplace_back();
    for (const auto& l : type.layouts) {
      int col = ilp_.Col(n, 0);
      c_.y[t].push_back(col);
      ilp_.Add(count_row_, col, 1);
      for (size_t k = 0; k < type.kinds.size(); ++k) ilp_.Add(slot_row_[k], col, -l.count[k]);
    }
    c_.x.emplace_back(type.kinds.size(), std::vector<int>(nm_, 0));
    c_.z.emplace_back(type.kinds.size(), std::vector<int>(nm_, 0));
    c_.v.emplace_back(type.kinds.size());
  }

  // Most slots of kind k the type can offer.
  double Capacity(size_t t, size_t k) const {
    int most = 0;
    for (const auto& l : p_.types[t].layouts) most = std::max(most, l.count[k]);
    return most * double(p_.types[t].members.size());
  }

  // x (a slot each) or z (on shared slices) for every model kind k holds.
  void KindCols(size_t t, size_t k) {
    for (size_t i = 0; i < nm_; ++i) {
      const Fit& f = p_.fit[t][k][i];
      if (f.value <= 0 || !demand_row_[i]) continue;
      const ModelDemand& m = p_.request->models[i];
      int col = ilp_.Col(Capacity(t, k), 0);
      (m.share ? c_.z : c_.x)[t][k][i] = col;
      Serves(i, col, f.value);
      if (!m.share) ilp_.Add(slot_row_[k], col, 1);
    }
    PatternCols(t, k);
  }

  // v[t][k][P] kind-k slices filled with pattern P, each taking a slot, and
  // z[t][k][i] ≤ Σ_{P ∋ i} v[t][k][P]: a share replica needs a slice whose
  // pattern holds its model (one replica of a model per slice).
  void PatternCols(size_t t, size_t k) {
    const auto& patterns = p_.patterns[t][k];
    std::vector<int> room_row(nm_, 0);
    for (size_t i = 0; i < nm_; ++i)
      if (c_.z[t][k][i]) {
        room_row[i] = ilp_.Row(GLP_UP, 0, 0);
        ilp_.Add(room_row[i], c_.z[t][k][i], 1);
      }
    for (const Pattern& pattern : patterns) {
      int col = ilp_.Col(Capacity(t, k), 0);
      c_.v[t][k].push_back(col);
      ilp_.Add(slot_row_[k], col, 1);
      for (int i : pattern) ilp_.Add(room_row[i], col, -1);
    }
  }

  // w[t][i] groups of tp[t][i] whole GPUs, each on one host.
  void TensorParallelCols(size_t t) {
    c_.w.emplace_back(nm_, 0);
    std::set<int> sizes;
    for (size_t i = 0; i < nm_; ++i) {
      int k = p_.tp[t][i];
      if (!k || !demand_row_[i]) continue;
      c_.w[t][i] = ilp_.Col(std::floor(double(p_.types[t].members.size()) / k), 0);  // whole groups
      ilp_.Add(count_row_, c_.w[t][i], k);
      Serves(i, c_.w[t][i], p_.tp_fit[i].value);
      sizes.insert(k);
    }
    for (int k : sizes) HostRow(t, k);
  }

  // Groups of k or more GPUs fit the hosts only if they take no more than
  // the hosts' whole multiples of k (exact for sizes that divide each other,
  // as 2, 4, 8 do; the assignment checks the rest).
  void HostRow(size_t t, int k) {
    std::map<std::string, int> per_host;
    for (int f : p_.types[t].members) ++per_host[p_.request->fleet[f].node];
    double room = 0;
    for (const auto& [host, count] : per_host) room += k * std::floor(double(count) / k);
    int row = ilp_.Row(GLP_UP, 0, room);
    for (size_t i = 0; i < nm_; ++i)
      if (c_.w[t][i] && p_.tp[t][i] >= k) ilp_.Add(row, c_.w[t][i], p_.tp[t][i]);
  }

  // spread: one replica of i per GPU, in total and per kind.
  void SpreadRows(size_t t, size_t i) {
    const GpuType& type = p_.types[t];
    int total_row = ilp_.Row(GLP_UP, 0, 0);
    for (int y : c_.y[t]) ilp_.Add(total_row, y, -1);
    for (size_t k = 0; k < type.kinds.size(); ++k) {
      int col = c_.x[t][k][i] ? c_.x[t][k][i] : c_.z[t][k][i];
      if (!col) continue;
      ilp_.Add(total_row, col, 1);
      int kind_row = ilp_.Row(GLP_UP, 0, 0);
      ilp_.Add(kind_row, col, 1);
      for (size_t l = 0; l < type.layouts.size(); ++l)
        if (type.layouts[l].count[k] > 0) ilp_.Add(kind_row, c_.y[t][l], -1);
    }
  }

  const Problem& p_;
  Ilp& ilp_;
  size_t nm_;
  Cols c_;
  std::vector<int> demand_row_, replicas_row_, slot_row_;
  int count_row_ = 0;
};

using Values = std::vector<double>;  // one value per column, 1-based (GLPK's numbering)

Values Incumbent(glp_prob* lp) {
  Values v(glp_get_num_cols(lp) + 1, 0.0);
  for (int j = 1; j < int(v.size()); ++j) v[j] = glp_mip_col_val(lp, j);
  return v;
}

double Objective(glp_prob* lp, const Values& v) {
  double sum = 0;
  for (int j = 1; j < int(v.size()); ++j) sum += glp_get_obj_coef(lp, j) * v[j];
  return sum;
}

int Val(const Values& v, int col) { return col ? int(std::lround(v[col])) : 0; }

std::vector<std::vector<int>> Read2(const Values& v, const std::vector<std::vector<int>>& cols) {
  std::vector<std::vector<int>> out(cols.size());
  for (size_t a = 0; a < cols.size(); ++a)
    for (int col : cols[a]) out[a].push_back(Val(v, col));
  return out;
}

Solution Read(const Values& v, const Cols& c) {
  Solution s;
  s.found = true;
  s.y = Read2(v, c.y), s.w = Read2(v, c.w);
  for (size_t t = 0; t < c.x.size(); ++t) {
    s.x.push_back(Read2(v, c.x[t]));
    s.z.push_back(Read2(v, c.z[t]));
    s.v.push_back(Read2(v, c.v[t]));
  }
  for (int col : c.u) s.shortfall.push_back(col ? std::max(0.0, v[col]) : 0);
  return s;
}

void Set2(Values& v, const std::vector<std::vector<int>>& cols,
          const std::vector<std::vector<int>>& counts) {
  for (size_t a = 0; a < cols.size(); ++a)
    for (size_t b = 0; b < cols[a].size(); ++b)
      if (cols[a][b]) v[cols[a][b]] = counts[a][b];
}

// The constructive plan's counts as column values: n from the layouts and
// groups, u as the least shortfall that satisfies its rows.
Values StartOf(const Problem& p, const Solution& built, const Cols& c, const Ilp& ilp) {
  glp_prob* lp = ilp.lp();
  Values v(glp_get_num_cols(lp) + 1, 0.0);
  for (size_t t = 0; t < p.types.size(); ++t) {
    double n = 0;
    for (int y : built.y[t]) n += y;
    for (size_t i = 0; i < built.w[t].size(); ++i) n += double(p.tp[t][i]) * built.w[t][i];
    v[c.n[t]] = n;
    for (size_t l = 0; l < c.y[t].size(); ++l) v[c.y[t][l]] = built.y[t][l];
    for (size_t i = 0; i < c.w[t].size(); ++i)
      if (c.w[t][i]) v[c.w[t][i]] = built.w[t][i];
    Set2(v, c.x[t], built.x[t]), Set2(v, c.z[t], built.z[t]), Set2(v, c.v[t], built.v[t]);
  }
  std::vector<double> activity = ilp.Activities(v);
  for (size_t i = 0; i < c.u.size(); ++i)
    for (int row : c.u_rows[i])
      v[c.u[i]] = std::max(v[c.u[i]], std::ceil(glp_get_row_lb(lp, row) - activity[row] - 1e-9));
  return v;
}

// Every column within its bounds and whole, every row within its bounds.
bool Feasible(glp_prob* lp, const Ilp& ilp, const Values& v) {
  for (int j = 1; j < int(v.size()); ++j)
    if (v[j] < glp_get_col_lb(lp, j) - 1e-9 || v[j] > glp_get_col_ub(lp, j) + 1e-9 ||
        v[j] != std::round(v[j]))
      return false;
  std::vector<double> activity = ilp.Activities(v);
  for (int r = 1; r <= glp_get_num_rows(lp); ++r) {
    int type = glp_get_row_type(lp, r);
    bool lower = type == GLP_LO || type == GLP_DB || type == GLP_FX;
    bool upper = type == GLP_UP || type == GLP_DB || type == GLP_FX;
    if ((lower && activity[r] < glp_get_row_lb(lp, r) - 1e-6) ||
        (upper && activity[r] > glp_get_row_ub(lp, r) + 1e-6))
      return false;
  }
  return true;
}

// Branch on GPU counts per type first, then layouts and tensor-parallel groups.
std::vector<int> Priority(const Cols& c) {
  std::vector<int> order = c.n;
  order.push_back(0);
  for (const auto& ys : c.y) order.insert(order.end(), ys.begin(), ys.end());
  for (const auto& ws : c.w)
    for (int w : ws)
      if (w) order.push_back(w);
  return order;
}

// Phase 1's cost and bound, with the unmet demand's penalty taken out.
void Score(const Problem& p, const MipResult& r, double objective, double lp_bound, Solution& sol) {
  double unmet = 0;
  for (double u : sol.shortfall) unmet += u;
  double penalty = Penalty(p) * unmet;
  sol.optimal = r.proven;
  sol.hit_limit = r.hit_limit;
  sol.nodes = r.nodes;
  sol.objective = std::round((objective - penalty) * 1000) / 1000;  // float noise
  double bound = std::max(0.0, std::max(lp_bound, r.bound) - penalty);
  double g = p.costed ? Granularity(p) : 1;
  if (g > 0) bound = std::ceil(bound / g - 1e-6) * g;  // objective values are multiples of g
  sol.lower_bound = sol.optimal ? sol.objective : std::min(bound, sol.objective);
  if (sol.lower_bound >= sol.objective - 1e-9) sol.optimal = true;
}

// Phase 2 objective: the slice memory handed out (and a little compute); a
// share replica costs a little, so none is placed beyond the demand.
void SliceMemoryObjective(const Problem& p, glp_prob* lp, const Cols& c) {
  for (int j = 1; j <= glp_get_num_cols(lp); ++j) glp_set_obj_coef(lp, j, 0);
  for (size_t t = 0; t < p.types.size(); ++t)
    for (size_t k = 0; k < p.types[t].kinds.size(); ++k) {
      const Kind& kind = p.types[t].kinds[k];
      double weight = kind.memory_mib / 1024.0 + 0.01 * kind.compute;
      for (int x : c.x[t][k])
        if (x) glp_set_obj_coef(lp, x, weight);
      for (int v : c.v[t][k]) glp_set_obj_coef(lp, v, weight);
      for (int z : c.z[t][k])
        if (z) glp_set_obj_coef(lp, z, 0.001);
    }
}

// Phase 2: the cost and unmet demand found, the least slice memory.
Solution Polish(const Problem& p, Ilp& ilp, const Cols& c, const MipLimits& phase1,
                const Values& best, const Solution& sol) {
  glp_prob* lp = ilp.lp();
  std::vector<int> idx(1, 0);
  std::vector<double> val(1, 0);
  for (int j = 1; j < int(best.size()); ++j)
    if (double cost = glp_get_obj_coef(lp, j); cost != 0) idx.push_back(j), val.push_back(cost);
  int keep = ilp.Row(GLP_UP, 0, Objective(lp, best) + 1e-6);
  glp_set_mat_row(lp, keep, int(idx.size()) - 1, idx.data(), val.data());
  SliceMemoryObjective(p, lp, c);
  if (!SolveLp(lp)) return sol;
  MipLimits limits{200, phase1.priority, best, 0};
  MipResult r = SolveMip(lp, limits);
  if (r.status != GLP_OPT && r.status != GLP_FEAS) return sol;
  Solution refined = Read(Incumbent(lp), c);
  refined.optimal = sol.optimal, refined.hit_limit = sol.hit_limit, refined.nodes = sol.nodes;
  refined.objective = sol.objective, refined.lower_bound = sol.lower_bound;
  refined.constructed = sol.constructed, refined.exact = sol.exact;
  return refined;
}

}  // namespace

Solution Solve(const Problem& p, const PlanOptions& options) {
  Ilp ilp;
  Cols cols = Builder(p, ilp).Build();
  ilp.Load();
  glp_prob* lp = ilp.lp();
  if (glp_get_num_cols(lp) == 0 || !SolveLp(lp)) return Solution{};
  double lp_bound = glp_get_obj_val(lp);
  // A constructive plan first: the search starts from it and can only improve it.
  Values start = StartOf(p, Construct(p), cols, ilp);
  bool constructed = Feasible(lp, ilp, start);
  if (!constructed) start.clear();
  bool exact =
      p.total_gpus <= options.exact_max_gpus || glp_get_num_cols(lp) <= options.exact_max_columns;
  MipLimits limits{exact ? options.exact_nodes : options.heuristic_nodes, Priority(cols), start,
                   Granularity(p)};
  MipResult r = SolveMip(lp, limits);
  Values best = start;
  bool searched = r.status == GLP_OPT || r.status == GLP_FEAS;
  if (searched && (best.empty() || glp_mip_obj_val(lp) <= Objective(lp, best) + 1e-9))
    best = Incumbent(lp);
  if (best.empty()) return Solution{};
  Solution sol = Read(best, cols);
  sol.constructed = constructed, sol.exact = exact;
  Score(p, r, Objective(lp, best), lp_bound, sol);
  if (!exact && !sol.optimal) return sol;
  return Polish(p, ilp, cols, limits, best, sol);
}

}  // namespace carve::plan
