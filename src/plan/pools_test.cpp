// carve plan --pools: one profile per pool from the same optimiser, against
// the best mixed layout; fill carves every GPU of a pool full.
#include "plan/pools.h"

#include <gtest/gtest.h>

#include "plan/fleet.h"
#include "plan/test_fleets.h"

namespace carve::plan {
namespace {

ModelDemand M(std::string name, double gib, int n) { return TestModel(std::move(name), gib, n); }

PlanRequest Menu(const char* fleet, std::vector<ModelDemand> models) {
  PlanRequest r;
  auto f = FleetFromFlag(fleet, mig::Catalog::Builtin());
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  r.fleet = *f;
  r.models = std::move(models);
  return r;
}

// A 35 GiB model and three 9 GiB ones share one H100 mixed (4g.40gb + 3×1g.10gb);
// no single profile holds both sizes well, so pools take two.
TEST(Pools, OneProfilePerPoolAgainstTheBestMixedLayout) {
  PlanRequest r = Menu("h100-80gb:4:2100", {M("a", 35, 1), M("b", 9, 3)});
  PoolAdvice a = AdvisePools(r, false);
  EXPECT_TRUE(a.plan.unmet.empty());
  EXPECT_EQ(a.mixed.gpus_used, 1);
  EXPECT_EQ(a.plan.gpus_used, 2);
  EXPECT_DOUBLE_EQ(a.plan.cost - a.mixed.cost, 2100);
  int gpus = 0;
  for (const auto& c : a.pools) gpus += c.gpus;
  EXPECT_EQ(gpus, 2);
  for (const auto& g : a.plan.gpus) {
    for (const auto& s : g.slices) {
      EXPECT_EQ(s.profile, g.gpu.fixed);  // one profile per pool
      EXPECT_FALSE(s.replicas.empty());   // without fill: only the slices used
    }
  }
  EXPECT_TRUE(a.beyond_menu.empty());
}

TEST(Pools, FillCarvesEveryGpuFull) {
  PlanRequest r = Menu("rtx-pro-6000:4:1100", {M("a", 20, 5)});
  PoolAdvice a = AdvisePools(r, true);
  ASSERT_EQ(a.pools.size(), 1u);
  EXPECT_EQ(a.pools[0].profile->name, "1g.24gb");
  EXPECT_EQ(a.pools[0].gpus, 2);
  EXPECT_EQ(a.pools[0].slices_per_gpu, 4);
  for (const auto& g : a.plan.gpus)
    if (g.used()) {
      EXPECT_EQ(int(g.slices.size()), 4);  // the second GPU's three idle slices stay
    }
  ExpectValid(a.plan);
}

// Each pool may use up to the menu's count; together they may need more, and the advice says so.
TEST(Pools, PoolsBeyondTheMenuAreNamed) {
  PlanRequest r = Menu("h100-80gb:1", {M("a", 35, 2), M("b", 75, 1)});
  PoolAdvice a = AdvisePools(r, false);
  EXPECT_TRUE(a.plan.unmet.empty());
  ASSERT_EQ(a.beyond_menu.size(), 1u);
  EXPECT_NE(a.beyond_menu[0].find("h100-80gb: 2 in pools, the menu lists 1"), std::string::npos)
      << a.beyond_menu[0];
}

}  // namespace
}  // namespace carve::plan
