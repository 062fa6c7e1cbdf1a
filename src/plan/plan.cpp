#include "plan/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "plan/assign.h"
#include "plan/baseline.h"
#include "plan/problem.h"
#include "plan/solver.h"

namespace carve::plan {
namespace {

// Replicas served per model, and requests/s, from the placed slices.
void CountServed(Plan& plan, const PlanRequest& req) {
  plan.models.clear();
  for (const auto& m : req.models)
    plan.models.push_back(ModelResult{m.name, 0, 0,
                                      m.throughput > 0 ? m.throughput : double(m.replicas),
                                      m.throughput > 0, false, 0});
  std::vector<std::vector<bool>> group_seen(req.models.size());
  for (const auto& g : plan.gpus)
    for (const auto& s : g.slices)
      for (const auto& r : s.replicas) {
        auto& seen = group_seen[r.model];
        if (r.tp_group >= 0) {
          if (int(seen.size()) <= r.tp_group) seen.resize(r.tp_group + 1, false);
          if (seen[r.tp_group]) continue;
          seen[r.tp_group] = true;
        }
        plan.models[r.model].replicas += 1;
        plan.models[r.model].throughput += r.throughput;
      }
  for (size_t i = 0; i < req.models.size(); ++i) {
    ModelResult& m = plan.models[i];
    double served = req.models[i].throughput > 0 ? m.throughput : m.replicas;
    m.met = served + 1e-9 >= m.demand;
  }
}

// Each used GPU's cost, split over models by the slice memory they hold.
void SplitCost(Plan& plan) {
  for (const auto& g : plan.gpus) {
    uint64_t total = 0;
    for (const auto& s : g.slices) total += s.memory_mib;
    for (const auto& s : g.slices) {
      uint64_t used = std::max<uint64_t>(s.used_mib(), 1);
      for (const auto& r : s.replicas) {
        double share = double(s.memory_mib) / double(total) *
                       double(std::max<uint64_t>(r.memory_mib, 1)) / double(used);
        if (s.replicas.size() == 1) share = double(s.memory_mib) / double(total);
        plan.models[r.model].cost_per_month += g.gpu.cost_per_month * share;
      }
    }
  }
}

void Totals(Plan& plan) {
  for (const auto& g : plan.gpus) {
    if (!g.used()) continue;
    ++plan.gpus_used;
    plan.cost += g.gpu.cost_per_month;
    plan.memory_total_mib += g.gpu.model->memory_mib;
    int compute = g.gpu.model->mig ? g.gpu.model->compute_slices : 1;
    plan.compute_total += compute;
    for (const auto& s : g.slices) {
      plan.memory_allocated_mib += s.memory_mib;
      plan.memory_used_mib += s.used_mib();
      plan.compute_allocated += s.profile ? s.profile->slices : compute;
    }
  }
  plan.stranded_slices = plan.compute_total - plan.compute_allocated;
}

// GPUs per tensor-parallel replica of model i (the first type offering it); 0 = none.
int GroupSize(const Problem& p, size_t i) {
  for (const auto& row : p.tp)
    if (row[i]) return row[i];
  return 0;
}

std::string ShortfallReason(const Problem& p, size_t i, const ModelResult& r) {
  const ModelDemand& m = p.request->models[i];
  std::string asked = m.throughput > 0 ? fmt::format("{:g} requests/s", m.throughput)
                                       : fmt::format("{} replicas", m.replicas);
  std::string got = m.throughput > 0 ? fmt::format("{:g} requests/s", r.throughput)
                                     : fmt::format("{}", r.replicas);
  if (int k = GroupSize(p, i))
    return fmt::format(
        "asks for {}; the fleet holds {}: each replica is a tensor-parallel group "
        "of {} whole GPUs of one model on one host, and no more such groups are "
        "free. Add GPUs to a host or lower the demand",
        asked, got, k);
  return fmt::format(
      "asks for {}; the fleet holds {} alongside the other models: every GPU it "
      "may use is taken. Add GPUs to the fleet or lower the demand",
      asked, got);
}

}  // namespace

Plan MakePlan(const PlanRequest& req) {
  Plan plan;
  Problem p = BuildProblem(req);
  plan.costed = p.costed;
  plan.unmet = p.unmet;
  Solution s = Solve(p, req.options);
  plan.method = s.exact ? "exact" : "heuristic";
  if (!s.found) {
    s.y.assign(p.types.size(), {});
    for (size_t t = 0; t < p.types.size(); ++t) {
      s.y[t].assign(p.types[t].layouts.size(), 0);
      s.w.push_back(std::vector<int>(req.models.size(), 0));
      s.x.push_back(std::vector<std::vector<int>>(p.types[t].kinds.size(),
                                                  std::vector<int>(req.models.size(), 0)));
      s.z.push_back(s.x.back());
      s.v.emplace_back();
      for (const auto& patterns : p.patterns[t]) s.v.back().emplace_back(patterns.size(), 0);
    }
  }
  Assignment a = Assign(p, s);
  plan.gpus = std::move(a.gpus);
  plan.unmet.insert(plan.unmet.end(), a.unmet.begin(), a.unmet.end());
  CountServed(plan, req);
  for (size_t i = 0; i < req.models.size(); ++i) {
    bool explained = std::any_of(plan.unmet.begin(), plan.unmet.end(),
                                 [&](const Unmet& u) { return u.model == req.models[i].name; });
    if (!plan.models[i].met && !explained)
      plan.unmet.push_back(
          Unmet{req.models[i].name, s.found ? ShortfallReason(p, i, plan.models[i])
                                            : "the solver found no plan within its limits"});
  }
  SplitCost(plan);
  Totals(plan);
  double value = p.costed ? plan.cost : plan.gpus_used;
  // With the shared-slice patterns cut short the program is a restriction:
  // its plan holds, but neither its proof nor its bound does.
  plan.optimal = s.found && s.optimal && !p.patterns_cut;
  plan.patterns_cut = p.patterns_cut;
  plan.node_limit_hit = s.found && s.hit_limit && !s.optimal;
  plan.nodes = s.nodes;
  plan.lower_bound = s.found && !p.patterns_cut ? std::min(s.lower_bound, value) : 0;
  plan.gap = value > 0 ? (value - plan.lower_bound) / value : 0;
  if (req.options.baselines) plan.baselines = {WholeGpuBaseline(p), FirstFitBaseline(p)};
  return plan;
}

}  // namespace carve::plan
