// Properties of carve apply on the simulator, for every MIG GPU in the
// catalogue:
//   - from any valid layout to any valid layout, apply reaches exactly the
//     target, and a slice present in both is never destroyed;
//   - when the Nth driver call fails, for every N an apply makes, each GPU
//     ends up holding its pre-apply layout or its target, and a rerun converges.
// Prints the operations against a wipe-and-recreate baseline (the number of
// pairs is CARVE_APPLY_PAIRS per GPU model, default 300).
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <set>

#include "apply/changes.h"
#include "apply/reconcile.h"
#include "device/machine_wrapper.h"
#include "device/sim/sim_machine.h"

namespace carve::apply {
namespace {

using device::sim::SimMachine;
using Layout = std::vector<mig::Slice>;
using Key = std::tuple<int, int, int>;  // gpu, profile id, start

// Counts driver calls and remembers which slices were destroyed.
class Recorder : public device::MachineWrapper {
 public:
  using MachineWrapper::MachineWrapper;
  int calls = 0;
  std::set<Key> destroyed;

  Result<device::ModeChange> SetMigMode(int gpu, bool on) override {
    ++calls;
    return MachineWrapper::SetMigMode(gpu, on);
  }
  Result<device::GpuInstance> CreateGpuInstance(int gpu, int p, std::optional<int> s) override {
    ++calls;
    return MachineWrapper::CreateGpuInstance(gpu, p, s);
  }
  Result<device::ComputeInstance> CreateComputeInstance(int gpu, int gi, int p,
                                                        std::optional<int> s) override {
    ++calls;
    return MachineWrapper::CreateComputeInstance(gpu, gi, p, s);
  }
  Status DestroyComputeInstance(int gpu, int gi, int ci) override {
    ++calls;
    return MachineWrapper::DestroyComputeInstance(gpu, gi, ci);
  }
  Status DestroyGpuInstance(int gpu, int gi) override {
    ++calls;
    auto g = GetGpu(gpu);
    for (const auto& x : g->gpu_instances)
      if (x.id == gi) destroyed.insert({gpu, x.profile_id, x.placement.start});
    return MachineWrapper::DestroyGpuInstance(gpu, gi);
  }
};

int Pairs() {
  const char* env = std::getenv("CARVE_APPLY_PAIRS");
  return env ? std::atoi(env) : 300;
}

// A simulated machine with `layouts[i]` on GPU i (full compute instances).
std::unique_ptr<SimMachine> MachineWith(const mig::GpuModel& model,
                                        const std::vector<Layout>& layouts) {
  std::vector<const mig::GpuModel*> models(layouts.size(), &model);
  auto m = SimMachine::InMemory(*device::sim::NewState(models, /*mig_on=*/true, 1));
  for (size_t g = 0; g < layouts.size(); ++g)
    for (const auto& s : layouts[g]) {
      auto gi = m->CreateGpuInstance(static_cast<int>(g), s.profile->id, s.start);
      EXPECT_TRUE(gi.ok()) << gi.status().message();
      auto ci = m->CreateComputeInstance(static_cast<int>(g), gi->id,
                                         model.DefaultComputeProfile(*s.profile)->id, std::nullopt);
      EXPECT_TRUE(ci.ok()) << ci.status().message();
    }
  return m;
}

GpuLayout Target(const mig::GpuModel& model, int gpu, const Layout& l) {
  GpuLayout t{gpu, &model, true, {}, "test"};
  for (const auto& s : l) t.slices.push_back(FullSlice(model, *s.profile, s.start));
  return t;
}

std::set<std::pair<int, int>> Holds(device::Machine& m, int gpu) {
  std::set<std::pair<int, int>> out;
  auto g = m.GetGpu(gpu);
  EXPECT_TRUE(g.ok());
  if (!g.ok()) return out;
  for (const auto& gi : g->gpu_instances) out.insert({gi.profile_id, gi.placement.start});
  return out;
}

std::set<std::pair<int, int>> AsSet(const Layout& l) {
  std::set<std::pair<int, int>> out;
  for (const auto& s : l) out.insert({s.profile->id, s.start});
  return out;
}

Outcome ApplyTo(device::Machine& m, const Layouts& target) {
  auto plan = MakeChanges(*m.Gpus(), target, /*force=*/false);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  if (!plan.ok()) return Outcome{.status = plan.status()};
  return Reconciler(m, Options{}).Apply(*plan);
}

TEST(ApplyProperty, ReachesEveryTargetAndNeverDestroysASliceBothLayoutsHold) {
  long ops = 0, baseline = 0, pairs = 0, shared = 0, hit = 0;
  for (const auto& model : mig::Catalog::Builtin().models()) {
    if (!model.mig) continue;
    auto layouts = mig::EnumerateValid(model);
    std::mt19937 rng(std::hash<std::string>{}(model.alias));
    std::uniform_int_distribution<size_t> pick(0, layouts.size() - 1);
    for (int i = 0; i < Pairs(); ++i, ++pairs) {
      const Layout &cur = layouts[pick(rng)], &tgt = layouts[pick(rng)];
      auto sim = MachineWith(model, {cur});
      Recorder rec(sim.get());
      Outcome out = ApplyTo(rec, {Target(model, 0, tgt)});
      ASSERT_TRUE(out.status.ok()) << model.alias << ": " << out.status.message();
      ASSERT_EQ(Holds(*sim, 0), AsSet(tgt)) << model.alias;
      for (const auto& [p, start] : AsSet(cur)) {
        if (AsSet(tgt).count({p, start}) && AsSet(cur) != AsSet(tgt)) ++shared;
        if (AsSet(tgt).count({p, start})) {
          hit += rec.destroyed.count({0, p, start});
          ASSERT_FALSE(rec.destroyed.count({0, p, start}))
              << model.alias << " destroyed a kept slice";
        }
      }
      ops += rec.calls;
      if (AsSet(cur) != AsSet(tgt)) baseline += 2 * static_cast<long>(cur.size() + tgt.size());
    }
  }
  std::printf(
      "[ apply   ] %ld random (current, target) pairs: %ld driver operations; "
      "wipe-and-recreate: %ld (%.2fx)\n",
      pairs, ops, baseline, ops ? static_cast<double>(baseline) / ops : 0.0);
  std::printf(
      "[ apply   ] slices in both layouts of a changed GPU: %ld; destroyed by carve: %ld, "
      "by wipe-and-recreate: %ld\n",
      shared, hit, shared);
}

TEST(ApplyProperty, TargetsWithoutStartsKeepWhatFitsAndPlaceTheRest) {
  for (const auto& model : mig::Catalog::Builtin().models()) {
    if (!model.mig) continue;
    auto layouts = mig::EnumerateValid(model);
    std::mt19937 rng(7);
    std::uniform_int_distribution<size_t> pick(0, layouts.size() - 1);
    for (int i = 0; i < Pairs() / 4; ++i) {
      const Layout &cur = layouts[pick(rng)], &tgt = layouts[pick(rng)];
      GpuLayout t = Target(model, 0, tgt);
      std::multiset<int> want;
      for (auto& s : t.slices) {
        want.insert(s.profile->id);
        if (rng() % 2) s.start.reset();
      }
      auto sim = MachineWith(model, {cur});
      Outcome out = ApplyTo(*sim, {t});
      ASSERT_TRUE(out.status.ok()) << model.alias << ": " << out.status.message();
      std::multiset<int> got;
      for (const auto& [p, start] : Holds(*sim, 0)) got.insert(p);
      ASSERT_EQ(got, want) << model.alias;
      for (const auto& s : t.slices)
        if (s.start) {
          ASSERT_TRUE(Holds(*sim, 0).count({s.profile->id, *s.start}));
        }
    }
  }
}

// Each GPU holds exactly its pre-apply layout or its target.
void ExpectBeforeOrTarget(device::Machine& m, const std::vector<Layout>& before,
                          const std::vector<Layout>& target, const std::string& where) {
  for (size_t g = 0; g < before.size(); ++g) {
    auto holds = Holds(m, static_cast<int>(g));
    EXPECT_TRUE(holds == AsSet(before[g]) || holds == AsSet(target[g])) << where << ", GPU " << g;
  }
}

TEST(ApplyFaults, AFailureAtEveryDriverCallLeavesEachGpuBeforeOrTargetAndARerunConverges) {
  int runs = 0;
  for (const auto& model : mig::Catalog::Builtin().models()) {
    if (!model.mig) continue;
    auto layouts = mig::EnumerateMaximal(model);
    std::mt19937 rng(11);
    std::uniform_int_distribution<size_t> pick(0, layouts.size() - 1);
    for (int pair = 0; pair < 3; ++pair) {
      std::vector<Layout> before = {layouts[pick(rng)], layouts[pick(rng)]};
      std::vector<Layout> target = {layouts[pick(rng)], layouts[pick(rng)]};
      Layouts t = {Target(model, 0, target[0]), Target(model, 1, target[1])};
      auto probe = MachineWith(model, before);
      Recorder rec(probe.get());
      ASSERT_TRUE(ApplyTo(rec, t).status.ok());
      for (int n = 1; n <= rec.calls; ++n, ++runs) {
        auto sim = MachineWith(model, before);
        ASSERT_TRUE(sim->SetFault(n, Code::kUnknown).ok());
        Outcome out = ApplyTo(*sim, t);
        std::string where = model.alias + ", fault at call " + std::to_string(n);
        EXPECT_FALSE(out.status.ok()) << where;
        EXPECT_TRUE(out.rolled_back) << where;
        ExpectBeforeOrTarget(*sim, before, target, where);
        ASSERT_TRUE(ApplyTo(*sim, t).status.ok()) << where;
        for (int g = 0; g < 2; ++g) EXPECT_EQ(Holds(*sim, g), AsSet(target[g])) << where;
      }
    }
  }
  std::printf("[ apply   ] %d applies with an injected fault, each restored and then converged\n",
              runs);
}

}  // namespace
}  // namespace carve::apply
