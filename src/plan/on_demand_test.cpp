// Pools of on-demand models (issue #16): sizing (declared or chosen profile
// and count, resident packing, mixed GPU models, nothing fits) and plans that
// place pool slices, never the on-demand models themselves.
#include "plan/on_demand.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "plan/fleet.h"
#include "plan/spec_plan.h"
#include "plan/test_fleets.h"

namespace carve::plan {
namespace {

spec::Spec Spec(const std::string& body) {
  auto s = spec::ParseSpec("version: v1\n" + body, "c.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : spec::Spec{};
}

std::vector<FleetGpu> Fleet(const char* flag) {
  auto f = FleetFromFlag(flag, mig::Catalog::Builtin());
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? *f : std::vector<FleetGpu>{};
}

Result<std::vector<PoolPlan>> Size(const spec::Spec& s, const char* fleet) {
  auto demands = DemandsOf(s);
  if (!demands.ok()) return demands.status();
  return SizePools(s, *demands, GpuModelsOf(Fleet(fleet)));
}

// Ten small models, as the issue has them: one pool of the smallest profile.
std::string TenSmall(const std::string& extra = "") {
  std::string out = "models:\n";
  for (int i = 0; i < 10; ++i)
    out += fmt::format("  - {{name: m{}, engine: echo, memory: {}GiB, on_demand: true{}}}\n", i,
                       i == 3 ? 4 : 3, extra);
  return out;
}

TEST(OnDemandPools, SizedPoolIsTheSmallestProfileAndResidentLargestPacked) {
  auto pools = Size(Spec(TenSmall()), "h100-80gb:1");
  ASSERT_TRUE(pools.ok()) << pools.status().ToString();
  ASSERT_EQ(pools->size(), 1u);
  const PoolPlan& p = (*pools)[0];
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.profile, "1g.10gb");
  EXPECT_EQ(p.slice_mib, 9984u);
  EXPECT_EQ(p.largest_mib, 4096u);
  EXPECT_EQ(p.models.size(), 10u);
  EXPECT_EQ(p.models.front(), "m0");
  // resident 2: 4 GiB + 3 GiB share one 1g.10gb slice.
  EXPECT_EQ(p.count, 1);
}

TEST(OnDemandPools, ResidentCountsTheLargestModelsPackedByMemory) {
  // Three resident of 4 + 3 + 3 GiB: two fit a 9.75 GiB slice, the third needs another.
  auto pools = Size(Spec(TenSmall() + "pools:\n  - {name: default, resident: 3}\n"), "h100-80gb:1");
  ASSERT_TRUE(pools.ok()) << pools.status().ToString();
  EXPECT_EQ((*pools)[0].count, 2);
  EXPECT_EQ((*pools)[0].profile, "1g.10gb");
  // Seven resident: 4+3 | 3+3+3 | 3+3 = three slices (three 3 GiB fit 9.75 GiB).
  pools = Size(Spec(TenSmall() + "pools:\n  - {name: default, resident: 7}\n"), "h100-80gb:1");
  ASSERT_TRUE(pools.ok());
  EXPECT_EQ((*pools)[0].count, 3);
}

TEST(OnDemandPools, DeclaredProfileAndCountAreKept) {
  auto pools = Size(Spec(TenSmall() + "pools:\n  - {name: default, profile: 3g.40gb, count: 2}\n"),
                    "h100-80gb:1");
  ASSERT_TRUE(pools.ok()) << pools.status().ToString();
  EXPECT_EQ((*pools)[0].profile, "3g.40gb");
  EXPECT_EQ((*pools)[0].count, 2);
  EXPECT_EQ((*pools)[0].slice_mib, 40448u);
}

TEST(OnDemandPools, PoolsAreSizedApart) {
  auto pools = Size(Spec(R"(models:
  - {name: a, engine: echo, memory: 3GiB, on_demand: true, pool: small}
  - {name: b, engine: echo, memory: 30GiB, on_demand: true, pool: large}
  - {name: c, engine: echo, memory: 3GiB, replicas: 1}
)"),
                    "h100-80gb:1");
  ASSERT_TRUE(pools.ok()) << pools.status().ToString();
  ASSERT_EQ(pools->size(), 2u);
  EXPECT_EQ((*pools)[0].name, "small");
  EXPECT_EQ((*pools)[0].profile, "1g.10gb");
  EXPECT_EQ((*pools)[1].name, "large");
  EXPECT_EQ((*pools)[1].profile, "3g.40gb");
  EXPECT_EQ((*pools)[1].models, std::vector<std::string>{"b"});
}

TEST(OnDemandPools, NoProfileHoldsTheLargestModel) {
  auto pools = Size(Spec(TenSmall() + "  - {name: huge, engine: echo, memory: 90GiB, "
                                      "on_demand: true}\n"),
                    "h100-80gb:2");
  ASSERT_FALSE(pools.ok());
  const std::string& m = pools.status().message();
  EXPECT_NE(m.find("pool 'default'"), std::string::npos) << m;
  EXPECT_NE(m.find("no MIG profile of these GPUs (h100-80gb) holds its largest model 'huge'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("c.yaml:3:"), std::string::npos) << m;  // its first model's line
  EXPECT_FALSE(pools.status().hint().empty());
}

TEST(OnDemandPools, DeclaredProfileTooSmallOrAbsent) {
  auto small =
      Size(Spec(TenSmall() + "pools:\n  - {name: default, profile: 1g.5gb}\n"), "h100-80gb:1");
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("c.yaml:14: pool 'default': profile '1g.5gb' is on none"),
            std::string::npos)
      << small.status().message();
  auto big = Size(Spec("models:\n  - {name: big, engine: echo, memory: 12GiB, on_demand: true}\n"
                       "pools:\n  - {name: default, profile: 1g.10gb}\n"),
                  "h100-80gb:1");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find(
                "c.yaml:5: pool 'default': profile 1g.10gb does not hold its largest model 'big'"),
            std::string::npos)
      << big.status().message();
}

TEST(OnDemandPools, MixedGpuModelsPickAProfileThatHoldsItWhereItExists) {
  // 4 GiB: the A100-40GB's 1g.5gb (4.75 GiB) is the smallest that holds it; the H100 has none.
  auto pools = Size(Spec(TenSmall()), "h100-80gb:1,a100-40gb:1");
  ASSERT_TRUE(pools.ok()) << pools.status().ToString();
  EXPECT_EQ((*pools)[0].profile, "1g.5gb");
  EXPECT_EQ((*pools)[0].gpus, std::vector<std::string>{"a100-40gb"});
  // 9.7 GiB: 1g.10gb is 9.625 GiB on the A100-40GB, 9.75 on the H100: the H100's.
  auto big = Size(Spec("models:\n  - {name: a, engine: echo, memory: 9900MiB, on_demand: true}\n"),
                  "a100-40gb:1,h100-80gb:1");
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ((*big)[0].profile, "1g.10gb");
  EXPECT_EQ((*big)[0].gpus, std::vector<std::string>{"h100-80gb"});
  EXPECT_EQ((*big)[0].slice_mib, 9984u);
}

TEST(OnDemandPools, NoMigGpusIsAClearError) {
  auto pools = Size(Spec(TenSmall()), "l40s:1");
  ASSERT_FALSE(pools.ok());
  EXPECT_NE(pools.status().message().find("(l40s)"), std::string::npos) << pools.status().message();
}

TEST(OnDemandPools, PlanPlacesPoolSlicesAndNotTheOnDemandModels) {
  spec::Spec s =
      Spec(TenSmall() + "  - {name: always, engine: echo, memory: 30GiB, replicas: 1}\n" +
           "pools:\n  - {name: default, resident: 7}\n");
  auto plan = PlanSpec(s, Fleet("h100-80gb:2"), false);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->unmet.empty());
  ExpectValid(*plan);
  std::vector<std::string> names;
  for (const auto& m : plan->models) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"always", "pool:default"}));
  int pool_slices = 0;
  for (const auto& g : plan->gpus)
    for (const auto& sl : g.slices)
      for (const auto& r : sl.replicas)
        if (IsPoolModel(plan->models[r.model].name)) {
          ++pool_slices;
          EXPECT_EQ(sl.profile->name, "1g.10gb");
          EXPECT_EQ(r.memory_mib, sl.memory_mib);  // the slice is the pool's, whole
        }
  EXPECT_EQ(pool_slices, 3);
  EXPECT_EQ(plan->models[1].replicas, 3);
  ASSERT_EQ(plan->pools.size(), 1u);
  EXPECT_EQ(plan->pools[0].count, 3);
  EXPECT_EQ(plan->pools[0].models.size(), 10u);
}

TEST(OnDemandPools, PlanOnAMachineToo) {
  spec::Spec s = Spec(TenSmall());
  device::Gpu gpu;
  gpu.model = mig::Catalog::Builtin().Find("h100-80gb");
  auto plan = PlanSpecOnMachineFresh(s, {gpu});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->models.size(), 1u);
  EXPECT_EQ(plan->models[0].name, "pool:default");
  EXPECT_EQ(plan->models[0].replicas, 1);
  auto pools = PoolsOf(s, {gpu});
  ASSERT_TRUE(pools.ok()) << pools.status().ToString();
  EXPECT_EQ((*pools)[0].profile, "1g.10gb");
}

TEST(OnDemandPools, PoolModelNames) {
  EXPECT_EQ(PoolModelName("small"), "pool:small");
  EXPECT_TRUE(IsPoolModel("pool:small"));
  EXPECT_FALSE(IsPoolModel("small"));
}

}  // namespace
}  // namespace carve::plan
