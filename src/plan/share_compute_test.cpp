// Shared slices (share: true) packed slice by slice, and the used GPUs' idle
// compute given to the replicas (issue #13, items 1 and 3).
#include <gtest/gtest.h>

#include <map>

#include "plan/problem.h"
#include "plan/test_fleets.h"

namespace carve::plan {
namespace {

PlanRequest OneGpu(const char* alias) {
  PlanRequest r;
  r.fleet.push_back(FleetGpu{0, "", 0, mig::Catalog::Builtin().Find(alias), 0, {}, {}});
  return r;
}

ModelDemand Tenant(int i, double gib, int replicas = 1) {
  ModelDemand m;
  m.name = "tenant-" + std::to_string(i);
  m.memory_mib = uint64_t(gib * 1024);
  m.replicas = replicas;
  m.share = true;
  return m;
}

// Every model got exactly the replicas it asked for, each on its own slice.
void ExpectExactly(const Plan& p, const PlanRequest& r) {
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty()) << p.unmet[0].model << ": " << p.unmet[0].reason;
  std::map<int, int> placed;
  for (const auto& g : p.gpus)
    for (const auto& s : g.slices) {
      std::map<int, int> here;
      for (const auto& rep : s.replicas) ++placed[rep.model], ++here[rep.model];
      for (const auto& [model, n] : here) EXPECT_EQ(n, 1) << "two replicas of a model on one slice";
    }
  for (size_t i = 0; i < r.models.size(); ++i)
    EXPECT_EQ(placed[int(i)], r.models[i].replicas) << r.models[i].name;
}

TEST(SharedSlices, ThreeSixGiBTenantsOnAnEmptyH100AreAllMet) {
  PlanRequest r = OneGpu("h100-80gb");
  for (int i = 0; i < 3; ++i) r.models.push_back(Tenant(i, 6));
  Plan p = MakePlan(r);
  ExpectExactly(p, r);
  EXPECT_TRUE(p.optimal);
  EXPECT_EQ(p.gpus_used, 1);
}

TEST(SharedSlices, TwelveSevenGiBTenantsOnAnRtxPro6000GetOneReplicaEach) {
  PlanRequest r = OneGpu("rtx-pro-6000");
  for (int i = 0; i < 12; ++i) r.models.push_back(Tenant(i, 7));
  Plan p = MakePlan(r);
  ExpectExactly(p, r);
  EXPECT_EQ(p.gpus_used, 1);
  EXPECT_EQ(p.memory_used_mib, 12u * 7 * 1024);
}

TEST(SharedSlices, FourTenantsGetOneReplicaEachNotTwoForSome) {
  PlanRequest r = OneGpu("rtx-pro-6000");
  for (int i = 0; i < 4; ++i) r.models.push_back(Tenant(i, 7));
  Plan p = MakePlan(r);
  ExpectExactly(p, r);
  for (const auto& m : p.models) EXPECT_EQ(m.replicas, 1) << m.name;
}

TEST(SharedSlices, SeveralReplicasOfATenantGoToDistinctSlices) {
  PlanRequest r = OneGpu("h100-80gb");
  r.models = {Tenant(0, 6, 3), Tenant(1, 3, 2), Tenant(2, 9, 1)};
  Plan p = MakePlan(r);
  ExpectExactly(p, r);
  EXPECT_TRUE(p.optimal);
}

TEST(SharedSlices, PatternsAreTheMaximalSetsThatFit) {
  PlanRequest r = OneGpu("h100-80gb");
  r.models = {Tenant(0, 6), Tenant(1, 5), Tenant(2, 3), Tenant(3, 2)};
  Problem prob = BuildProblem(r);
  const auto& kinds = prob.types[0].kinds;
  size_t k = 0;
  while (kinds[k].name != "1g.10gb") ++k;
  // 9.75 GiB of 6, 5, 3 and 2 GiB tenants: 6+3, 6+2, 5+3, 5+2 and 3+2 (4.75
  // GiB left: neither 5 nor 6 fits); not 3 alone, nor 6+5.
  std::vector<Pattern> want = {{0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  auto got = prob.patterns[0][k];
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  EXPECT_FALSE(prob.patterns_cut);
}

TEST(SharedSlices, TooManyPatternsAreCutAndTheProofWithdrawn) {
  // 26 tenants of 3–4 GiB on a 48 GiB slice: millions of maximal sets.
  PlanRequest r = OneGpu("rtx-pro-6000");
  for (int i = 0; i < 26; ++i) r.models.push_back(Tenant(i, 3 + (i % 3) * 0.5));
  Problem prob = BuildProblem(r);
  EXPECT_TRUE(prob.patterns_cut);
  Plan p = MakePlan(r);
  ExpectExactly(p, r);
  EXPECT_FALSE(p.optimal) << "a cut pattern list proves nothing";
  EXPECT_TRUE(p.patterns_cut);
  EXPECT_EQ(p.lower_bound, 0);
}

TEST(IdleCompute, TwoEighteenGiBModelsOnAnH100GetTwoComputeSlicesEach) {
  PlanRequest r = OneGpu("h100-80gb");
  ModelDemand a;
  a.memory_mib = 18 * 1024, a.replicas = 1;
  a.name = "a", r.models.push_back(a);
  a.name = "b", r.models.push_back(a);
  Plan p = MakePlan(r);
  ExpectValid(p);
  ASSERT_EQ(p.gpus[0].slices.size(), 2u);
  for (const auto& s : p.gpus[0].slices) EXPECT_EQ(s.profile->name, "2g.20gb");
  EXPECT_EQ(p.memory_allocated_mib, 2u * 20096) << "the same memory as two 1g.20gb";
}

TEST(IdleCompute, CurrentSlicesAreNotTradedForCompute) {
  PlanRequest r = OneGpu("h100-80gb");
  const mig::GpuModel& h = *r.fleet[0].model;
  r.fleet[0].current = {mig::Slice{h.FindProfile("1g.20gb"), 4}};
  ModelDemand a;
  a.name = "a", a.memory_mib = 18 * 1024, a.replicas = 1;
  r.models = {a};
  Plan p = MakePlan(r);
  ExpectValid(p);
  ASSERT_EQ(p.gpus[0].slices.size(), 1u);
  EXPECT_EQ(p.gpus[0].slices[0].profile->name, "1g.20gb");
  EXPECT_TRUE(p.gpus[0].slices[0].kept);
}

TEST(IdleCompute, AThroughputReplicaMovesOnlyWhereItIsMeasuredNoSlower) {
  PlanRequest r = OneGpu("h100-80gb");
  ModelDemand a;
  a.name = "a", a.memory_mib = 18 * 1024, a.throughput = 100;
  a.options = {{"1g.20gb", 100, 0, {"--small"}}};  // 2g.20gb never measured
  r.models = {a};
  Plan p = MakePlan(r);
  ExpectValid(p);
  ASSERT_EQ(p.gpus[0].slices.size(), 1u);
  EXPECT_EQ(p.gpus[0].slices[0].profile->name, "1g.20gb");

  r.models[0].options.push_back({"2g.20gb", 180, 0, {"--big"}});
  r.models[0].options[0].throughput = 100;
  p = MakePlan(r);
  ASSERT_EQ(p.gpus[0].slices.size(), 1u);
  EXPECT_EQ(p.gpus[0].slices[0].profile->name, "2g.20gb");
  EXPECT_EQ(p.gpus[0].slices[0].replicas[0].args, std::vector<std::string>{"--big"});
  EXPECT_EQ(p.models[0].throughput, 180);
}

}  // namespace
}  // namespace carve::plan
