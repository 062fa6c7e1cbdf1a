// Fixed-profile node pools: GPUs a managed pool (or the device plugin's
// `single` strategy) has already carved. The plan keeps exactly their slices,
// places replicas on them, and plans the rest of a mixed cluster as one.
#include <gtest/gtest.h>

#include "plan/fleet.h"
#include "plan/test_fleets.h"
#include "spec/spec.h"

namespace carve::plan {
namespace {

const mig::Catalog& Cat() { return mig::Catalog::Builtin(); }

ModelDemand M(std::string name, double gib, int n) { return TestModel(std::move(name), gib, n); }

std::vector<FleetGpu> SpecFleet(const std::string& fleet_yaml) {
  auto s = spec::ParseSpec("version: v1\nfleet:\n" + fleet_yaml, "c.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  auto f = FleetFromSpec(*s->fleet, Cat());
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? *f : std::vector<FleetGpu>{};
}

// Every used fixed GPU holds exactly its pool's slices, all kept where they are.
void ExpectFixedKept(const Plan& p) {
  for (const auto& g : p.gpus) {
    if (!g.gpu.fixed || !g.used()) continue;
    ASSERT_EQ(int(g.slices.size()), g.gpu.fixed_count) << g.gpu.pool;
    for (size_t s = 0; s < g.slices.size(); ++s) {
      EXPECT_EQ(g.slices[s].profile, g.gpu.fixed);
      EXPECT_TRUE(g.slices[s].kept);
      EXPECT_EQ(g.slices[s].start, g.gpu.current[s].start);
    }
  }
}

TEST(FixedPool, SpecPoolIsFilledWithItsProfile) {
  auto fleet = SpecFleet("  - {pool: rtx, gpu: rtx-pro-6000, count: 2, fixed_profile: 1g.24gb}\n");
  ASSERT_EQ(fleet.size(), 2u);
  EXPECT_EQ(fleet[0].pool, "rtx");
  EXPECT_EQ(fleet[0].pool_selector, "carve.dev/pool=rtx");
  EXPECT_EQ(fleet[0].fixed_count, 4);
  EXPECT_EQ(fleet[1].local_index, 1);
  EXPECT_EQ(fleet[0].current.size(), 4u);
}

// A 2g.48gb would hold both small models on one slice less, and an unfixed
// GPU would get 2g slices for 30 GiB; a fixed pool gets neither.
TEST(FixedPool, PlanNeverRecarvesAFixedGpu) {
  PlanRequest r;
  r.fleet = SpecFleet("  - {pool: rtx, gpu: rtx-pro-6000, count: 2, fixed_profile: 1g.24gb}\n");
  r.models = {M("a", 20, 3), M("b", 4, 2)};
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty());
  ExpectFixedKept(p);
  EXPECT_EQ(p.gpus_used, 2);
  r.models = {M("too-big", 30, 1)};
  Plan q = MakePlan(r);
  ASSERT_EQ(q.unmet.size(), 1u);  // 30 GiB fits no 1g.24gb; the pool is not re-carved to 2g.48gb
  EXPECT_NE(q.unmet[0].reason.find("larger profile than its fixed 1g.24gb"), std::string::npos)
      << q.unmet[0].reason;
  EXPECT_EQ(q.unmet[0].reason.find("as one tensor-parallel group"),
            std::string::npos);  // carved GPUs are never whole
  for (const auto& g : q.gpus) EXPECT_FALSE(g.used());
}

TEST(FixedPool, MixedClusterPlansAsOne) {
  PlanRequest r;
  r.fleet = SpecFleet(
      "  - {pool: rtx, gpu: rtx-pro-6000, count: 1, fixed_profile: 1g.24gb}\n"
      "  - {pool: h100, gpu: h100-80gb, count: 1}\n");
  r.models = {M("small", 16, 4), M("large", 60, 1)};
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty());
  ExpectFixedKept(p);
  for (const auto& g : p.gpus)
    for (const auto& s : g.slices)
      for (const auto& rep : s.replicas)
        EXPECT_EQ(g.gpu.model->alias,
                  p.models[rep.model].name == "small" ? "rtx-pro-6000" : "h100-80gb");
}

TEST(FixedPool, SpecErrorsNameTheLine) {
  auto s = spec::ParseSpec("version: v1\nfleet:\n  - {gpu: rtx-pro-6000, fixed_profile: 1g.24gb}\n",
                           "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:3"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().hint().find("pool: NAME"), std::string::npos);
  s = spec::ParseSpec("version: v1\nfleet:\n  - {pool: Big_Pool, gpu: rtx-pro-6000}\n", "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a pool name"), std::string::npos);
  s = spec::ParseSpec(
      "version: v1\nfleet:\n  - {pool: p, gpu: h100-80gb}\n  - {pool: p, gpu: h100-80gb}\n",
      "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:4"), std::string::npos) << s.status().message();
  s = spec::ParseSpec(
      "version: v1\nfleet:\n  - {pool: p, gpu: rtx-pro-6000, fixed_profile: 3g.40gb}\n", "c.yaml");
  ASSERT_TRUE(s.ok());
  auto f = FleetFromSpec(*s->fleet, Cat());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("c.yaml:3"), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().hint().find("1g.24gb"), std::string::npos);
}

std::string SingleNode(const std::string& name, const std::string& product,
                       const std::string& count, const std::string& allocatable) {
  return R"({"metadata": {"name": ")" + name + R"(", "labels": {"nvidia.com/gpu.product": ")" +
         product + R"(", "nvidia.com/gpu.count": ")" + count +
         R"(", "nvidia.com/mig.strategy": "single", "nvidia.com/mig.capable": "true", "karpenter.sh/nodepool": "gpu"}},
         "status": {"allocatable": {"nvidia.com/gpu": ")" +
         allocatable + R"("}}})";
}

TEST(FixedPool, SingleStrategyNodesAreFixedPools) {
  std::string product = "NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition-MIG-1g.24gb";
  auto f = FleetFromNodes(R"({"items": [)" + SingleNode("a", product, "4", "4") + "," +
                              SingleNode("b", product, "6", "6") + "]}",
                          Cat());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 3u);  // a: one GPU of four slices; b: four and two
  EXPECT_EQ((*f)[0].node, "a");
  EXPECT_EQ((*f)[0].fixed->name, "1g.24gb");
  EXPECT_EQ((*f)[0].fixed_count, 4);
  EXPECT_EQ((*f)[2].fixed_count, 2);
  EXPECT_EQ((*f)[1].local_index, 0);
  EXPECT_EQ((*f)[2].local_index, 1);
  EXPECT_EQ((*f)[0].pool, "gpu");  // Karpenter's pool label
  EXPECT_EQ((*f)[0].pool_selector, "nvidia.com/gpu.product=" + product);
  // The allocatable count is what the scheduler sees; GFD's label may lag.
  f = FleetFromNodes(R"({"items": [)" + SingleNode("a", product, "4", "8") + "]}", Cat());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->size(), 2u);
}

// Time-slicing (renameByDefault false) marks the product -SHARED and
// multiplies the count; the node still has its four slices.
TEST(FixedPool, SingleStrategyNodeAlreadyTimeSliced) {
  std::string node =
      SingleNode("a", "NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition-MIG-1g.24gb-SHARED", "4", "12");
  node.replace(node.find("\"karpenter.sh/nodepool\""), 0, "\"nvidia.com/gpu.replicas\": \"3\", ");
  auto f = FleetFromNodes(R"({"items": [)" + node + "]}", Cat());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].fixed_count, 4);
  EXPECT_EQ((*f)[0].pool_selector,
            "nvidia.com/gpu.product=NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition-MIG-1g.24gb");
}

TEST(FixedPool, SingleStrategyWithAnUnknownProfileSaysWhich) {
  auto f = FleetFromNodes(
      R"({"items": [)" +
          SingleNode("a", "NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition-MIG-9g.99gb", "4", "4") +
          "]}",
      Cat());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("node a"), std::string::npos) << f.status().message();
  EXPECT_NE(f.status().message().find("9g.99gb"), std::string::npos);
  f = FleetFromNodes(
      R"({"items": [)" +
          SingleNode("b", "NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition-MIG-INVALID", "0", "0") +
          "]}",
      Cat());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("do not all hold one profile"), std::string::npos)
      << f.status().message();
}

}  // namespace
}  // namespace carve::plan
