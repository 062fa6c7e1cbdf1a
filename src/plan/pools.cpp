#include "plan/pools.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "plan/fleet.h"
#include "plan/problem.h"

namespace carve::plan {
namespace {

// The menu's GPU types: model and price, with the most GPUs it lists.
std::vector<FleetGpu> MenuTypes(const std::vector<FleetGpu>& fleet, std::vector<int>& counts) {
  std::vector<FleetGpu> types;
  for (const auto& g : fleet) {
    auto it = std::find_if(types.begin(), types.end(), [&](const FleetGpu& t) {
      return t.model == g.model && t.cost_per_month == g.cost_per_month;
    });
    if (it != types.end()) {
      ++counts[size_t(it - types.begin())];
      continue;
    }
    types.push_back(g);
    counts.push_back(1);
  }
  return types;
}

std::string Name(const mig::GpuModel& model, const mig::Profile* profile) {
  std::string out = model.alias + "-" + (profile ? profile->name : "whole");
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '.' || c == '+'; }, '-');
  return out;
}

// One candidate pool per plain profile of each type (filled), and one of whole GPUs.
std::vector<FleetGpu> Candidates(const std::vector<FleetGpu>& menu) {
  std::vector<int> counts;
  std::vector<FleetGpu> types = MenuTypes(menu, counts), out;
  auto add = [&](const FleetGpu& t, int n, const mig::GpuModel* model, const mig::Profile* p) {
    for (int c = 0; c < n; ++c) {
      FleetGpu g = t;
      g.index = int(out.size()), g.node = "", g.local_index = c, g.model = model, g.current.clear();
      g.pool = Name(*t.model, p), g.pool_selector = std::string(kPoolLabel) + "=" + g.pool;
      if (p) Fix(g, p, FilledCount(*t.model, *p));
      out.push_back(std::move(g));
    }
  };
  for (size_t t = 0; t < types.size(); ++t) {
    const mig::GpuModel* model = types[t].model;
    if (model->mig)
      for (const auto& kind : KindsOf(*model)) add(types[t], counts[t], model, kind.profile);
    add(types[t], counts[t], model->mig ? WholeGpuModel(model) : model, nullptr);
  }
  return out;
}

// Without fill a pool's GPUs hold only the slices the plan uses (and the totals say so).
void DropIdle(Plan& plan) {
  for (auto& g : plan.gpus) {
    for (const auto& s : g.slices)
      if (s.replicas.empty() && s.profile)
        plan.memory_allocated_mib -= s.memory_mib, plan.compute_allocated -= s.profile->slices;
    std::erase_if(g.slices, [](const PlannedSlice& s) { return s.replicas.empty(); });
    g.gpu.fixed_count = int(g.slices.size());
  }
  plan.stranded_slices = plan.compute_total - plan.compute_allocated;
}

std::vector<PoolChoice> Choices(const Plan& plan, bool fill) {
  std::map<std::string, PoolChoice> by;
  for (const auto& g : plan.gpus) {
    if (!g.used()) continue;
    PoolChoice& c = by[g.gpu.pool];
    c.name = g.gpu.pool, c.profile = g.gpu.fixed;
    c.model = g.gpu.model;
    ++c.gpus;
    c.cost += g.gpu.cost_per_month;
    c.slices_per_gpu = std::max(c.slices_per_gpu, fill ? g.gpu.fixed_count : int(g.slices.size()));
    for (const auto& s : g.slices)
      for (const auto& r : s.replicas) {
        const std::string& m = plan.models[r.model].name;
        auto it = std::find_if(c.replicas.begin(), c.replicas.end(),
                               [&](auto& p) { return p.first == m; });
        if (it == c.replicas.end())
          c.replicas.push_back({m, 1});
        else
          ++it->second;
      }
  }
  std::vector<PoolChoice> out;
  for (auto& [name, c] : by) out.push_back(std::move(c));
  return out;
}

}  // namespace

PoolAdvice AdvisePools(const PlanRequest& menu, bool fill) {
  PoolAdvice a;
  a.fill = fill;
  a.mixed = MakePlan(menu);
  PlanRequest pools = menu;
  pools.fleet = Candidates(menu.fleet);
  a.plan = MakePlan(pools);
  if (!fill) DropIdle(a.plan);
  a.pools = Choices(a.plan, fill);
  std::map<std::string, int> listed, used;
  for (const auto& g : menu.fleet) ++listed[g.model->alias];
  for (const auto& c : a.pools) used[c.model->alias] += c.gpus;
  for (const auto& [alias, n] : used)
    if (n > listed[alias])
      a.beyond_menu.push_back(
          fmt::format("{}: {} in pools, the menu lists {}", alias, n, listed[alias]));
  return a;
}

}  // namespace carve::plan
