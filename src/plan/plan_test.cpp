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
  r.models.push_back(Replicas("big", 35 * 1024, 2));    // 3g.40gb
  r.models.push_back(Replicas("mid", 18 * 1024, 2));    // 2g.20gb or 1g.20gb
  r.models.push_back(Replicas("small", 9 * 1024, 4));   // 1g.10gb
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
  EXPECT_NE(p.unmet[0].reason.find("needs 100.0 GiB per replica; the largest slice in this fleet is 79.2 GiB"),
            std::string::npos) << p.unmet[0].reason;
  EXPECT_NE(p.unmet[0].reason.find("peer-to-peer"), std::string::npos);
}

}  // namespace
}  // namespace carve::plan
