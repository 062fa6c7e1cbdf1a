#include "up/desired.h"

#include <gtest/gtest.h>

#include "device/sim/sim_machine.h"
#include "plan/spec_plan.h"

namespace carve::up {
namespace {

constexpr const char* kSpec = R"(version: v1
models:
  - name: chat
    engine: echo
    memory: 9GiB
    replicas: 2
  - name: summarize
    engine: echo
    memory: 19GiB
    replicas: 1
    args: ["--tokens", "32"]
)";

struct Planned {
  std::vector<device::Gpu> gpus;
  spec::Spec spec;
  plan::Plan plan;
};

Planned PlanOnH100(const char* text) {
  auto state = device::sim::NewState({mig::Catalog::Builtin().Find("h100-80gb")}, true, 1);
  EXPECT_TRUE(state.ok());
  auto m = device::sim::SimMachine::InMemory(*state);
  Planned out;
  out.gpus = *m->Gpus();
  auto parsed = spec::ParseSpec(text, "carve.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return out;
  out.spec = *parsed;
  auto p = plan::PlanSpecOnMachine(out.spec, out.gpus);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  out.plan = *p;
  return out;
}

TEST(UpDesired, OneWantedReplicaPerPlacedReplicaWithItsLaunch) {
  Planned pl = PlanOnH100(kSpec);
  auto wanted = WantedFromPlan(pl.plan, pl.spec, 5000);
  ASSERT_TRUE(wanted.ok()) << wanted.status().ToString();
  ASSERT_EQ(wanted->size(), 3u);
  int chats = 0;
  for (const auto& w : *wanted) {
    EXPECT_EQ(w.slot.gpu, 0);
    EXPECT_EQ(w.spec.model, w.model);
    ASSERT_TRUE(w.spec.probe.has_value());
    EXPECT_EQ(w.spec.probe->ready_timeout_ms, 5000);
    if (w.model == "chat") {
      ++chats;
      EXPECT_EQ(w.slot.profile, "1g.10gb");
    }
    if (w.model == "summarize") {
      EXPECT_NE(w.settings.find("--tokens"), std::string::npos);
    }
  }
  EXPECT_EQ(chats, 2);
  // The settings leave the slice out: two replicas of one model compare equal.
  EXPECT_EQ((*wanted)[0].model == (*wanted)[1].model,
            (*wanted)[0].settings == (*wanted)[1].settings);
}

// The plan reaches apply as data: the same slices the plan chose, each with its
// full compute instance, and nothing for GPUs the plan leaves alone.
TEST(UpDesired, LayoutsFromPlanAreThePlansSlices) {
  Planned pl = PlanOnH100(kSpec);
  auto layouts = LayoutsFromPlan(pl.plan, pl.gpus);
  ASSERT_TRUE(layouts.ok()) << layouts.status().ToString();
  ASSERT_EQ(layouts->size(), 1u);
  const apply::GpuLayout& l = (*layouts)[0];
  EXPECT_EQ(l.gpu, 0);
  EXPECT_TRUE(l.mig);
  ASSERT_EQ(l.slices.size(), pl.plan.gpus[0].slices.size());
  for (size_t i = 0; i < l.slices.size(); ++i) {
    EXPECT_EQ(l.slices[i].profile, pl.plan.gpus[0].slices[i].profile);
    EXPECT_EQ(l.slices[i].start, pl.plan.gpus[0].slices[i].start);
    EXPECT_EQ(l.slices[i].cis.size(), 1u);
  }
  plan::Plan unused = pl.plan;
  unused.gpus[0].slices.clear();
  EXPECT_TRUE(LayoutsFromPlan(unused, pl.gpus)->empty());
}

TEST(UpDesired, ReplicasFromPlanNameSlicesAndCountPlaceholders) {
  Planned pl = PlanOnH100(kSpec);
  int placeholders = 0;
  auto reps = ReplicasFromPlan(pl.plan, pl.spec, pl.gpus, placeholders);
  ASSERT_TRUE(reps.ok());
  EXPECT_EQ(placeholders, 3);  // the sim GPU has no slices yet
  EXPECT_EQ((*reps)[0].id, (*reps)[0].model + "/0");
  EXPECT_EQ((*reps)[0].slice.rfind("0:", 0), 0u);
  EXPECT_EQ((*reps)[0].uuid.rfind("MIG-0-", 0), 0u);
}

// An on-demand model on a pool slice: its share of the slice as the engine's
// memory fraction and as its slot's memory; the same settings each time.
TEST(UpDesired, AnOnDemandReplicaTakesItsMemoryFractionOfThePoolSlice) {
  Planned pl = PlanOnH100(kSpec);
  Slot slice;
  slice.gpu = 0, slice.profile = "1g.10gb", slice.start = 3, slice.memory_mib = 9856;
  auto w = OnDemandReplica(pl.spec.models[0], slice, 4096, 0);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->model, "chat");
  EXPECT_EQ(w->slot.where(), "0:1g.10gb@3");
  EXPECT_EQ(w->slot.memory_mib, 4096u);
  EXPECT_DOUBLE_EQ(w->spec.memory_fraction, 0.42);  // 4096/9856 = 0.4156, up to the percent
  EXPECT_EQ(w->settings, OnDemandReplica(pl.spec.models[0], slice, 4096, 0)->settings);
  EXPECT_NE(w->settings, OnDemandReplica(pl.spec.models[0], slice, 8192, 0)->settings);
}

TEST(UpDesired, PoolSlicesAreThePlansPoolModelsReplicasAndStartNoEngine) {
  Planned pl = PlanOnH100(kSpec);
  // A pool as the planner places it: a model named pool:NAME, one replica a slice.
  pl.plan.models.push_back(plan::ModelResult{"pool:small"});
  plan::PlannedSlice s;
  s.profile = mig::Catalog::Builtin().Find("h100-80gb")->FindProfile("1g.10gb");
  s.start = 6;
  s.memory_mib = 9856;
  plan::PlacedReplica r;
  r.model = static_cast<int>(pl.plan.models.size()) - 1;
  s.replicas.push_back(r);
  pl.plan.gpus[0].slices.push_back(s);
  auto pools = PoolSlotsFromPlan(pl.plan);
  ASSERT_EQ(pools.size(), 1u);
  ASSERT_EQ(pools["small"].size(), 1u);
  EXPECT_EQ(pools["small"][0].where(), "0:1g.10gb@6");
  EXPECT_EQ(pools["small"][0].memory_mib, 9856u);
  auto wanted = WantedFromPlan(pl.plan, pl.spec, 0);
  ASSERT_TRUE(wanted.ok()) << wanted.status().ToString();
  EXPECT_EQ(wanted->size(), 3u);  // the pool slice starts nothing
}

}  // namespace
}  // namespace carve::up
