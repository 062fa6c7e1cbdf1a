// The planner against brute force on many small random instances: up to 4
// GPUs of mixed models, up to 3 models with memory or throughput demand,
// spread on some. The brute force knows nothing of the planner's model: it
// walks every valid layout (all profiles, +me variants included) of every GPU,
// every assignment of models to its slices, and every subset of GPUs.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "plan/baseline.h"
#include "plan/measured_options.h"
#include "plan/plan.h"
#include "plan/problem.h"
#include "plan/solver.h"
#include "plan/test_fleets.h"

namespace carve::plan {
namespace {

using Vec = std::vector<int>;  // per model: replicas, or requests/s, capped at the demand

struct Instance {
  PlanRequest req;
  Vec demand;
};

// What one slot of `memory_mib` (profile name `name`, or the whole card) can
// add for model i: 0 = not allowed.
int Value(const ModelDemand& m, uint64_t memory_mib, const std::string& name, bool whole,
          const std::string& alias) {
  if (m.memory_mib > memory_mib) return 0;
  if (m.options.empty()) return 1;
  int best = 0;
  for (const auto& o : m.options)
    if ((o.profile == name || (whole && o.profile == alias)) &&
        (m.latency_slo_ms <= 0 || o.latency_ms <= m.latency_slo_ms))
      best = std::max(best, int(o.throughput));
  return best;
}

// What one slot can hold: a replica of one model, or (share models) one
// replica each of any set of them whose memory fits together.
std::vector<std::vector<int>> SlotFillings(const std::vector<ModelDemand>& models,
                                           uint64_t memory_mib) {
  std::vector<std::vector<int>> out;
  for (size_t i = 0; i < models.size(); ++i)
    if (!models[i].share) out.push_back({int(i)});
  for (unsigned set = 1; set < (1u << models.size()); ++set) {
    std::vector<int> members;
    uint64_t sum = 0;
    for (size_t i = 0; i < models.size(); ++i)
      if (set & (1u << i)) members.push_back(int(i)), sum += models[i].memory_mib;
    bool shared =
        std::all_of(members.begin(), members.end(), [&](int i) { return models[i].share; });
    if (shared && sum <= memory_mib) out.push_back(members);
  }
  return out;
}

// Every contribution vector one GPU can make.
std::set<Vec> Contributions(const mig::GpuModel& gpu, const Instance& in) {
  const auto& models = in.req.models;
  std::vector<std::vector<std::pair<uint64_t, std::string>>> shapes;  // slot lists
  if (!gpu.mig) {
    shapes.push_back({{gpu.memory_mib, gpu.alias}});
  } else {
    std::set<std::multiset<std::string>> seen;
    for (const auto& layout : mig::EnumerateValid(gpu)) {
      std::multiset<std::string> names;
      for (const auto& s : layout) names.insert(s.profile->name);
      if (!seen.insert(names).second) continue;
      std::vector<std::pair<uint64_t, std::string>> slots;
      for (const auto& s : layout) slots.push_back({s.profile->memory_mib, s.profile->name});
      shapes.push_back(slots);
    }
  }
  std::set<Vec> out;
  for (const auto& slots : shapes) {
    std::set<Vec> states = {Vec(models.size(), 0)};
    for (const auto& [mem, name] : slots) {
      std::set<Vec> next = states;
      for (const Vec& s : states)
        for (const auto& filling : SlotFillings(models, mem)) {
          Vec t = s;
          bool ok = true;
          for (int i : filling) {
            int v = Value(models[i], mem, name, !gpu.mig, gpu.alias);
            ok = ok && v && !(models[i].spread && s[i] > 0);
            t[i] = std::min(in.demand[i], t[i] + v);
          }
          if (ok) next.insert(t);
        }
      states = std::move(next);
    }
    out.insert(states.begin(), states.end());
  }
  return out;
}

// The least cost (or GPU count) meeting every demand; -1 when none does.
double BruteForce(const Instance& in) {
  std::map<const mig::GpuModel*, std::set<Vec>> by_model;
  std::map<Vec, double> best = {{Vec(in.demand.size(), 0), 0}};
  bool costed = in.req.fleet[0].cost_per_month > 0;
  for (const auto& g : in.req.fleet) {
    if (!by_model.count(g.model)) by_model[g.model] = Contributions(*g.model, in);
    std::map<Vec, double> next = best;
    for (const auto& [state, cost] : best)
      for (const Vec& c : by_model[g.model]) {
        Vec t = state;
        for (size_t i = 0; i < t.size(); ++i) t[i] = std::min(in.demand[i], t[i] + c[i]);
        double v = cost + (costed ? g.cost_per_month : 1);
        auto it = next.find(t);
        if (it == next.end() || v < it->second) next[t] = v;
      }
    best = std::move(next);
  }
  auto it = best.find(in.demand);
  return it == best.end() ? -1 : it->second;
}

std::string Describe(const Instance& in) {
  std::string out = "fleet:";
  for (const auto& g : in.req.fleet)
    out += " " + g.model->alias + "$" + std::to_string(int(g.cost_per_month));
  for (const auto& m : in.req.models) {
    out += "\n  " + m.name + " mem " + std::to_string(m.memory_mib) + (m.spread ? " spread" : "") +
           (m.share ? " share" : "") + " replicas " + std::to_string(m.replicas) + " thr " +
           std::to_string(m.throughput);
    for (const auto& o : m.options)
      out += " [" + o.profile + " " + std::to_string(o.throughput) + "]";
  }
  return out;
}

Instance Random(std::mt19937& rng) {
  const auto& cat = mig::Catalog::Builtin();
  const char* kGpus[] = {"h100-80gb", "a30", "rtx-pro-6000", "rtx-5090"};
  const int kMemGiB[] = {4, 5, 9, 11, 15, 19, 22, 30, 38, 45};
  auto pick = [&](int n) { return int(rng() % n); };
  Instance in;
  int gpus = 1 + pick(4);
  bool costed = pick(2);
  for (int g = 0; g < gpus; ++g) {
    const mig::GpuModel* m = cat.Find(kGpus[pick(4)]);
    double cost = costed ? 100.0 * (1 + pick(20)) : 0;
    in.req.fleet.push_back(FleetGpu{g, "", g, m, cost, {}, {}});
  }
  int models = 1 + pick(3);
  for (int i = 0; i < models; ++i) {
    ModelDemand d;
    d.name = "m" + std::to_string(i);
    d.spread = pick(4) == 0;
    d.share = pick(4) == 0;
    d.tensor_parallel = 1;  // the brute force knows no tensor parallelism
    d.memory_mib = uint64_t(kMemGiB[pick(d.share ? 5 : 10)]) * 1024;
    if (pick(3) == 0) {
      // Throughput demand with options on profiles the fleet may have.
      const char* kProfiles[] = {"1g.10gb", "2g.20gb", "3g.40gb", "1g.6gb",
                                 "2g.12gb", "1g.24gb", "2g.48gb", "rtx-5090"};
      d.memory_mib = uint64_t(kMemGiB[pick(3)]) * 1024;
      for (int o = 0, n = 1 + pick(3); o < n; ++o)
        d.options.push_back(Option{kProfiles[pick(8)], double(10 * (1 + pick(10))), 0, {}});
      d.throughput = 10 * (1 + pick(12));
      in.demand.push_back(int(d.throughput));
    } else {
      d.replicas = 1 + pick(4);
      in.demand.push_back(d.replicas);
    }
    in.req.models.push_back(d);
  }
  return in;
}

TEST(Optimality, MatchesBruteForceOnRandomSmallInstances) {
  std::mt19937 rng(20240601);
  int feasible = 0, infeasible = 0;
  for (int n = 0; n < 300; ++n) {
    Instance in = Random(rng);
    double best = BruteForce(in);
    Plan p = MakePlan(in.req);
    ExpectValid(p);
    SCOPED_TRACE("instance " + std::to_string(n) + ": " + Describe(in));
    if (best < 0) {
      ++infeasible;
      EXPECT_FALSE(p.unmet.empty());
      continue;
    }
    ++feasible;
    ASSERT_TRUE(p.unmet.empty()) << p.unmet[0].model << ": " << p.unmet[0].reason;
    double got = p.costed ? p.cost : p.gpus_used;
    EXPECT_DOUBLE_EQ(got, best);
    EXPECT_TRUE(p.optimal);
    EXPECT_DOUBLE_EQ(p.lower_bound, best);
  }
  EXPECT_GT(feasible, 100);
  EXPECT_GT(infeasible, 10);
}

// Throughput demand over ~100 measured options a model (profile × batch ×
// processes, measured_options.h) on one to three A100s or H100s; option and
// demand figures scaled down so the brute force's states stay few.
Instance Measured(std::mt19937& rng) {
  const auto& cat = mig::Catalog::Builtin();
  const mig::GpuModel* gpu = cat.Find(rng() % 2 ? "a100-80gb" : "h100-80gb");
  Instance in;
  for (int g = 0, n = 1 + int(rng() % 3); g < n; ++g)
    in.req.fleet.push_back(FleetGpu{g, "", g, gpu, 0, {}, {}});
  in.req.models = MeasuredModels(*gpu, 1 + int(rng() % 2), {}, rng);
  for (auto& m : in.req.models) {
    for (auto& o : m.options) o.throughput = std::max(1.0, std::round(o.throughput / 25));
    m.throughput = double(5 + rng() % 50);
    m.tensor_parallel = 1;
    in.demand.push_back(int(m.throughput));
  }
  return in;
}

TEST(Optimality, MeasuredOptionsMatchBruteForce) {
  std::mt19937 rng(20261203);
  int feasible = 0;
  for (int n = 0; n < 40; ++n) {
    Instance in = Measured(rng);
    double best = BruteForce(in);
    Plan p = MakePlan(in.req);
    ExpectValid(p);
    SCOPED_TRACE("instance " + std::to_string(n) + ": " + Describe(in));
    if (best < 0) {
      EXPECT_FALSE(p.unmet.empty());
      continue;
    }
    ++feasible;
    ASSERT_TRUE(p.unmet.empty()) << p.unmet[0].model << ": " << p.unmet[0].reason;
    EXPECT_EQ(p.gpus_used, best);
    EXPECT_TRUE(p.optimal);
  }
  EXPECT_GT(feasible, 15);
}

// The instance: a dozen models measured on ~100 options each, 70 to
// 2,300 requests/s, 40 A100s. The search must start from the constructive
// plan, always return a plan that meets the demand (a handful of GPUs do),
// and state its bound honestly. Quality, not time: the budget is a node count.
TEST(Optimality, FortyA100sTwelveMeasuredModelsAlwaysGetAPlan) {
  const auto& cat = mig::Catalog::Builtin();
  const mig::GpuModel* a100 = cat.Find("a100-80gb");
  int proven = 0;
  for (int seed = 1; seed <= 12; ++seed) {
    std::mt19937 rng(seed);
    PlanRequest req;
    for (int g = 0; g < 40; ++g)
      req.fleet.push_back(
          FleetGpu{g, "node" + std::to_string(g / 8), g % 8, a100, seed % 2 ? 1300.0 : 0, {}, {}});
    req.models = MeasuredModels(*a100, 12, {}, rng);
    SCOPED_TRACE("seed " + std::to_string(seed));
    Problem prob = BuildProblem(req);
    Solution s = Solve(prob, req.options);
    EXPECT_TRUE(s.constructed) << "the constructive plan is a valid start";
    Plan p = MakePlan(req);
    ExpectValid(p);
    ASSERT_TRUE(p.unmet.empty()) << p.unmet[0].model << ": " << p.unmet[0].reason;
    double value = p.costed ? p.cost : p.gpus_used;
    EXPECT_LE(p.lower_bound, value);
    EXPECT_GT(p.lower_bound, 0);
    EXPECT_EQ(p.optimal, p.lower_bound == value);
    EXPECT_NEAR(p.gap, (value - p.lower_bound) / value, 1e-12);
    EXPECT_LT(p.gpus_used, 20) << "a handful of GPUs suffice";
    BaselineResult ff = FirstFitBaseline(prob);
    EXPECT_LE(value, p.costed ? ff.cost : ff.gpus_used);
    proven += p.optimal;
  }
  EXPECT_GE(proven, 9);
}

// Options another one beats on its profile (no less throughput, no more
// latency) are never chosen, and the rest are kept.
TEST(Optimality, DominatedOptionsArePruned) {
  ModelDemand m;
  m.name = "m", m.memory_mib = 4096, m.throughput = 100;
  m.options = {{"1g.10gb", 50, 30, {}},  // dominated by row 2
               {"1g.10gb", 80, 60, {}},  // faster but slower to answer: kept
               {"1g.10gb", 60, 30, {}},
               {"1g.10gb", 60, 30, {}},  // equal to row 2: the earlier stays
               {"2g.20gb", 40, 90, {}}};
  PlanRequest req;
  req.fleet.push_back(FleetGpu{0, "", 0, mig::Catalog::Builtin().Find("h100-80gb"), 0, {}, {}});
  req.models = {m};
  Problem prob = BuildProblem(req);
  EXPECT_EQ(prob.frontier[0], (std::vector<int>{1, 2, 4}));
  req.models[0].latency_slo_ms = 40;  // row 1 too slow: row 2 is the best left
  prob = BuildProblem(req);
  size_t k = 0;
  while (prob.types[0].kinds[k].name != "1g.10gb") ++k;
  EXPECT_EQ(prob.fit[0][k][0].option, 2);
}

// 32 real GPUs of four models (8 per host, four prices) and 20 models, some by
// throughput with measured profiles, some spread: the solver proves its plan
// optimal (its flag, and a lower bound equal to the cost). Wall time is not
// asserted; the budget is a node count, so this holds on any machine.
PlanRequest ThirtyTwoGpus() {
  const auto& cat = mig::Catalog::Builtin();
  const char* kGpus[] = {"h100-80gb", "a100-80gb", "h200", "rtx-pro-6000"};
  const double kCost[] = {2100, 1300, 2600, 1100};
  PlanRequest req;
  for (int g = 0; g < 32; ++g)
    req.fleet.push_back(FleetGpu{
        g, "node" + std::to_string(g / 8), g % 8, cat.Find(kGpus[g / 8]), kCost[g / 8], {}, {}});
  std::mt19937 rng(5);
  const double kGiB[] = {3, 4, 5, 7, 9, 12, 15, 22, 38};
  for (int i = 0; i < 20; ++i) {
    ModelDemand m;
    m.name = "m" + std::to_string(i);
    m.memory_mib = uint64_t(kGiB[rng() % 9] * 1024);
    m.replicas = 2 + int(rng() % 9);
    m.spread = i % 7 == 3;
    if (i % 5 == 4) {
      m.memory_mib = 8 * 1024;
      m.options = {{"1g.10gb", 150, 0, {}}, {"2g.20gb", 280, 0, {}}, {"1g.24gb", 200, 0, {}}};
      m.throughput = 180.0 * m.replicas;
    }
    req.models.push_back(m);
  }
  return req;
}

TEST(Optimality, ThirtyTwoGpusTwentyModelsProvenOptimal) {
  Plan p = MakePlan(ThirtyTwoGpus());
  ExpectValid(p);
  ASSERT_TRUE(p.unmet.empty()) << p.unmet[0].model << ": " << p.unmet[0].reason;
  EXPECT_EQ(p.method, "exact");
  EXPECT_TRUE(p.optimal);
  EXPECT_FALSE(p.node_limit_hit);
  EXPECT_DOUBLE_EQ(p.lower_bound, p.cost);
  EXPECT_GT(p.gpus_used, 8);  // a real instance, not one GPU's worth
  EXPECT_LT(p.gpus_used, 32);
}

TEST(Optimality, SameInputSamePlan) {
  std::mt19937 rng(7);
  for (int n = 0; n < 20; ++n) {
    Instance in = Random(rng);
    Plan a = MakePlan(in.req), b = MakePlan(in.req);
    ASSERT_EQ(a.gpus.size(), b.gpus.size());
    for (size_t g = 0; g < a.gpus.size(); ++g) {
      ASSERT_EQ(a.gpus[g].slices.size(), b.gpus[g].slices.size());
      for (size_t s = 0; s < a.gpus[g].slices.size(); ++s) {
        EXPECT_EQ(a.gpus[g].slices[s].profile, b.gpus[g].slices[s].profile);
        EXPECT_EQ(a.gpus[g].slices[s].start, b.gpus[g].slices[s].start);
        ASSERT_EQ(a.gpus[g].slices[s].replicas.size(), b.gpus[g].slices[s].replicas.size());
        for (size_t r = 0; r < a.gpus[g].slices[s].replicas.size(); ++r)
          EXPECT_EQ(a.gpus[g].slices[s].replicas[r].model, b.gpus[g].slices[s].replicas[r].model);
      }
    }
  }
}

}  // namespace
}  // namespace carve::plan
