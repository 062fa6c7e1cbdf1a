#include "plan/plan.h"

#include <gtest/gtest.h>

#include "mig/layout.h"
#include "plan/fleet.h"
#include "plan/test_fleets.h"

namespace carve::plan {
namespace {

ModelDemand Replicas(std::string name, uint64_t mib, int n) {
  ModelDemand m;
  m.name = std::move(name);
  m.memory_mib = mib;
  m.replicas = n;
  return m;
}

PlanRequest H100s(int n) {
  PlanRequest r;
  r.fleet = *FleetFromFlag("h100-80gb:" + std::to_string(n), mig::Catalog::Builtin());
  return r;
}

TEST(Plan, SevenSmallReplicasFitOneH100) {
  PlanRequest r = H100s(4);
  r.models.push_back(Replicas("small", 9 * 1024, 7));
  Plan p = MakePlan(r);
  EXPECT_EQ(p.gpus_used, 1);
  EXPECT_TRUE(p.optimal);
  EXPECT_TRUE(p.unmet.empty());
  ExpectValid(p);
}

TEST(Plan, MixedSizesPackTight) {
  PlanRequest r = H100s(4);
  r.models.push_back(Replicas("big", 35 * 1024, 2));   // 3g.40gb
  r.models.push_back(Replicas("mid", 18 * 1024, 2));   // 2g.20gb or 1g.20gb
  r.models.push_back(Replicas("small", 9 * 1024, 4));  // 1g.10gb
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty());
  EXPECT_EQ(p.gpus_used, 2);
  EXPECT_EQ(p.lower_bound, 2);
}

TEST(Plan, TooBigForAnySliceSaysSo) {
  PlanRequest r = H100s(1);
  r.models.push_back(Replicas("huge", 100 * 1024, 1));
  Plan p = MakePlan(r);
  ASSERT_EQ(p.unmet.size(), 1u);
  EXPECT_NE(p.unmet[0].reason.find(
                "needs 100.0 GiB per replica; the largest slice in this fleet is 79.2 GiB"),
            std::string::npos)
      << p.unmet[0].reason;
  EXPECT_NE(p.unmet[0].reason.find("peer-to-peer"), std::string::npos);
}

// issue #12: a model no slice and no group of whole GPUs can hold is unmet,
// and the reason says what the largest group holds.
TEST(Plan, MemoryBeyondAnyGroupIsUnmetNamingTheLargestGroup) {
  PlanRequest r = H100s(2);
  r.models.push_back(Replicas("vast", uint64_t{1} << 30, 1));  // 1 PiB, the most a spec may say
  Plan p = MakePlan(r);
  EXPECT_EQ(p.gpus_used, 0);
  ASSERT_EQ(p.unmet.size(), 1u);
  EXPECT_NE(p.unmet[0].reason.find("needs 1048576.0 GiB per replica"), std::string::npos)
      << p.unmet[0].reason;
  EXPECT_NE(p.unmet[0].reason.find("the largest: 2× h100-80gb, 159.3 GiB"), std::string::npos)
      << p.unmet[0].reason;
}

// issue #12: demand of 1e12 replicas' worth (or infinitely many: 1e12 requests/s
// at 1e-300 a replica) used to reach the LP and the baselines' ints as is: the
// LP gave up (no GPU used) and first-fit wrapped to a negative count ("met").
TEST(Plan, AbsurdThroughputDemandServesWhatFitsAndStaysUnmet) {
  for (double per_replica : {1.0, 1e-300}) {
    PlanRequest r = H100s(2);
    ModelDemand m = Replicas("flood", 5 * 1024, 0);
    m.throughput = 1e12;
    m.options = {Option{"1g.10gb", per_replica, 0, {}}};
    r.models.push_back(m);
    r.options.baselines = true;
    Plan p = MakePlan(r);
    ExpectValid(p);
    EXPECT_EQ(p.gpus_used, 2) << per_replica;
    EXPECT_EQ(p.models[0].replicas, 14) << per_replica;
    ASSERT_EQ(p.unmet.size(), 1u);
    ASSERT_EQ(p.baselines.size(), 2u);
    for (const auto& b : p.baselines) EXPECT_FALSE(b.all_met) << b.name << " " << per_replica;
  }
}

}  // namespace
}  // namespace carve::plan
