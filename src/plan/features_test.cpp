// Mixed fleets, pinning, spread, sharing, unmet-demand messages, tensor
// parallelism (whole GPUs) and its refusal across MIG slices, least change.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "plan/fleet.h"
#include "plan/from_spec.h"
#include "plan/test_fleets.h"

namespace carve::plan {
namespace {

ModelDemand M(std::string name, double gib, int n) {
  ModelDemand m;
  m.name = std::move(name), m.memory_mib = uint64_t(gib * 1024), m.replicas = n;
  return m;
}

PlanRequest Fleet(const char* text) {
  PlanRequest r;
  auto f = FleetFromFlag(text, mig::Catalog::Builtin());
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  r.fleet = *f;
  return r;
}

int Count(const Plan& p, const std::string& alias) {
  int n = 0;
  for (const auto& g : p.gpus) n += g.used() && g.gpu.model->alias == alias;
  return n;
}

TEST(Features, MixedFleetUsesTheCheapestThatFits) {
  PlanRequest r = Fleet("h100-80gb:2:2100,rtx-5090:2:400");
  r.models = {M("a", 20, 2)};
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_EQ(p.cost, 800);
  EXPECT_EQ(Count(p, "rtx-5090"), 2);
  EXPECT_TRUE(p.optimal);
}

TEST(Features, PinningKeepsAModelOnItsGpus) {
  PlanRequest r = Fleet("h100-80gb:1,rtx-pro-6000:1");
  r.models = {M("a", 20, 2)};
  r.models[0].gpus = {"rtx-pro-6000"};
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty());
  EXPECT_EQ(Count(p, "rtx-pro-6000"), 1);
  EXPECT_EQ(Count(p, "h100-80gb"), 0);
}

TEST(Features, PinnedToAbsentGpuSaysSo) {
  PlanRequest r = Fleet("h100-80gb:1");
  r.models = {M("a", 20, 1)};
  r.models[0].gpus = {"a30"};
  Plan p = MakePlan(r);
  ASSERT_EQ(p.unmet.size(), 1u);
  EXPECT_NE(p.unmet[0].reason.find("pinned to gpus [a30], but the fleet has none"),
            std::string::npos);
}

TEST(Features, SpreadPutsReplicasOnDistinctGpus) {
  PlanRequest r = Fleet("h100-80gb:4");
  r.models = {M("a", 5, 3)};
  r.models[0].spread = true;
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_EQ(p.gpus_used, 3);
  for (const auto& g : p.gpus) EXPECT_LE(g.slices.size(), 1u);
}

// The plan for `models`, all share: true, on one H100.
Plan SharedOnOneH100(std::vector<ModelDemand> models) {
  PlanRequest r = Fleet("h100-80gb:1");
  r.models = std::move(models);
  for (auto& m : r.models) m.share = true;
  return MakePlan(r);
}

TEST(Features, ShareFitsSmallModelsInOneSlice) {
  Plan p = SharedOnOneH100({M("a", 3, 1), M("b", 4, 1), M("c", 2, 1)});
  ExpectValid(p);
  ASSERT_EQ(p.gpus[0].slices.size(), 1u);
  EXPECT_EQ(p.gpus[0].slices[0].replicas.size(), 3u);
  EXPECT_EQ(p.gpus[0].slices[0].profile->name, "1g.10gb");
  double sum = 0;
  for (const auto& rep : p.gpus[0].slices[0].replicas) sum += rep.memory_fraction;
  EXPECT_LE(sum, 1.0);
}

TEST(Features, FleetTooSmallSaysWhatIsMissing) {
  PlanRequest r = Fleet("a30:1");
  r.models = {M("a", 10, 3)};
  Plan p = MakePlan(r);
  ExpectValid(p);
  ASSERT_EQ(p.unmet.size(), 1u);
  EXPECT_NE(p.unmet[0].reason.find("asks for 3 replicas; the fleet holds 2"), std::string::npos)
      << p.unmet[0].reason;
}

TEST(Features, TooLargeForAnySliceNamesTheLargest) {
  PlanRequest r = Fleet("rtx-pro-6000:1,rtx-5090:1");
  r.models = {M("big", 120, 1)};
  Plan p = MakePlan(r);
  ASSERT_EQ(p.unmet.size(), 1u);
  const std::string& why = p.unmet[0].reason;
  EXPECT_NE(why.find("needs 120.0 GiB per replica; the largest slice in this fleet is 95.1 GiB "
                     "(4g.96gb on rtx-pro-6000)"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("no peer-to-peer path"), std::string::npos);
  EXPECT_NE(why.find("2× rtx-pro-6000 as one tensor-parallel group (the fleet has 1)"),
            std::string::npos)
      << why;
}

TEST(Features, TensorParallelOverWholeGpusWhenNeeded) {
  PlanRequest r = Fleet("h100-80gb:4");
  r.models = {M("big", 140, 1)};
  r.models[0].overhead_mib = 2048;
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty());
  EXPECT_EQ(p.gpus_used, 2);
  for (const auto& g : p.gpus)
    if (g.used()) {
      EXPECT_FALSE(g.mig);
      EXPECT_EQ(g.slices[0].replicas[0].tp_group, 0);
    }
  EXPECT_EQ(p.models[0].replicas, 1);
}

TEST(Features, TensorParallelOverMigProfilesIsRefusedWithFileLine) {
  auto spec = spec::ParseSpec(R"(version: v1
models:
  - name: big
    memory: 60GiB
    tensor_parallel: 4
    throughput: 10
    profiles:
      - {profile: 1g.24gb, throughput: 5}
)",
                              "c.yaml");
  ASSERT_TRUE(spec.ok());
  auto d = DemandsFromSpec(*spec, {}, mig::Catalog::Builtin());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(
                "c.yaml:8: model 'big': tensor_parallel 4 with MIG profile 1g.24gb: refused"),
            std::string::npos)
      << d.status().message();
  EXPECT_NE(d.status().hint().find("whole-GPU group"), std::string::npos);
}

TEST(Features, LatencySloDropsSlowOptions) {
  PlanRequest r = Fleet("h100-80gb:2");
  ModelDemand m;
  m.name = "svc", m.throughput = 100, m.latency_slo_ms = 40;
  m.options = {{"1g.10gb", 200, 50, {}}, {"3g.40gb", 60, 30, {"--batch", "8"}}};
  r.models = {m};
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty());
  EXPECT_EQ(p.models[0].replicas, 2);
  for (const auto& g : p.gpus)
    for (const auto& s : g.slices) {
      EXPECT_EQ(s.profile->name, "3g.40gb");
      EXPECT_EQ(s.replicas[0].args[1], "8");
    }
}

TEST(Features, KeepsCurrentSlicesWhereThePlanAllows) {
  PlanRequest r = Fleet("h100-80gb:2");
  const mig::GpuModel& h = *r.fleet[0].model;
  r.fleet[1].current = {mig::Slice{h.FindProfile("3g.40gb"), 0}};  // GPU 1 holds a 3g at 0
  r.models = {M("a", 30, 1)};
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_FALSE(p.gpus[0].used());
  ASSERT_EQ(p.gpus[1].slices.size(), 1u);
  EXPECT_EQ(p.gpus[1].slices[0].start, 0);
  EXPECT_TRUE(p.gpus[1].slices[0].kept);
}

// Every model is either met or named in `unmet`: nothing is dropped silently.
void ExpectMetOrExplained(const Plan& p) {
  for (const auto& m : p.models) {
    bool named = std::any_of(p.unmet.begin(), p.unmet.end(),
                             [&](const Unmet& u) { return u.model == m.name; });
    EXPECT_TRUE(m.met || named) << m.name;
  }
}

TEST(Features, SpreadBeyondTheFleetIsReportedUnmet) {
  PlanRequest r = Fleet("h100-80gb:2");
  r.models = {M("a", 5, 3), M("b", 5, 4)};
  r.models[0].spread = true;
  Plan p = MakePlan(r);
  ExpectValid(p);
  ExpectMetOrExplained(p);
  EXPECT_FALSE(p.models[0].met);
  EXPECT_EQ(p.models[0].replicas, 2);
  EXPECT_TRUE(p.models[1].met);
  for (const auto& g : p.gpus) {
    int a = 0;
    for (const auto& s : g.slices) a += s.replicas[0].model == 0;
    EXPECT_LE(a, 1);
  }
}

TEST(Features, SharedSlicesThatMemoryAloneWouldAdmitAreStillPacked) {
  // 3 × 5 GiB fits 2 × 9.75 GiB by total memory but not slice by slice: the
  // assignment opens a third slice instead of dropping a replica.
  Plan p = SharedOnOneH100({M("a", 5, 1), M("b", 5, 1), M("c", 5, 1)});
  ExpectValid(p);
  ExpectMetOrExplained(p);
  EXPECT_TRUE(p.unmet.empty()) << p.unmet[0].reason;
  for (const auto& s : p.gpus[0].slices) EXPECT_LE(s.used_mib(), s.memory_mib);
}

TEST(Features, TensorParallelGroupsStayOnOneHost) {
  // Four H100s, but two per host: no 4-way group exists, and the solver knows it.
  const auto& cat = mig::Catalog::Builtin();
  PlanRequest r;
  for (int g = 0; g < 4; ++g)
    r.fleet.push_back(FleetGpu{g, g < 2 ? "n1" : "n2", g % 2, cat.Find("h100-80gb"), 0, {}, {}});
  r.models = {M("huge", 200, 1)};
  r.models[0].tensor_parallel = 4;
  Plan p = MakePlan(r);
  ExpectMetOrExplained(p);
  ASSERT_EQ(p.unmet.size(), 1u);
  EXPECT_NE(p.unmet[0].reason.find("on one host"), std::string::npos) << p.unmet[0].reason;
  EXPECT_EQ(p.gpus_used, 0);
  // Two 2-way groups of a smaller model do fit, one per host.
  r.models = {M("big", 120, 2)};
  r.models[0].tensor_parallel = 2;
  p = MakePlan(r);
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty());
  EXPECT_TRUE(p.optimal);
  for (const auto& g : p.gpus) EXPECT_EQ(g.slices[0].replicas[0].tp_group, g.gpu.index / 2);
}

// issue #12: a whole-GPU tensor-parallel group used to "meet" any min_profile.
TEST(Features, MinProfileNoGpuOffersIsUnmetEvenForAGroup) {
  PlanRequest r = Fleet("h100-80gb:2");
  r.models = {M("a", 10, 1)};
  r.models[0].min_profile = "99g.1000gb";
  Plan p = MakePlan(r);
  EXPECT_EQ(p.gpus_used, 0);
  ASSERT_EQ(p.unmet.size(), 1u);
  EXPECT_NE(p.unmet[0].reason.find("min_profile 99g.1000gb: no GPU in this fleet (fleet: 2× "
                                   "h100-80gb) offers a slice at least that large (the "
                                   "largest: 7g.80gb on h100-80gb)"),
            std::string::npos)
      << p.unmet[0].reason;
}

TEST(Features, MinProfileEachGpuOfAGroupMeetsIsMet) {
  PlanRequest r = Fleet("h100-80gb:2");
  r.models = {M("big", 120, 1)};
  r.models[0].min_profile = "7g.80gb";
  Plan p = MakePlan(r);
  ExpectValid(p);
  EXPECT_TRUE(p.unmet.empty());
  EXPECT_EQ(p.gpus_used, 2);
}

TEST(Features, NodeCountThatIsNoCountIsRefused) {
  for (const char* count : {"-5", "1000000", "two"}) {
    auto f = FleetFromNodes(fmt::format(R"({{"items": [{{"metadata": {{"name": "n1", "labels": {{
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.count": "{}"}}}}}}]}})",
                                        count),
                            mig::Catalog::Builtin());
    ASSERT_FALSE(f.ok()) << count;
    EXPECT_NE(f.status().message().find("node n1 has nvidia.com/gpu.count"), std::string::npos)
        << f.status().message();
  }
  EXPECT_FALSE(FleetFromFlag("h100-80gb:100001", mig::Catalog::Builtin()).ok());
}

TEST(Features, NodeListFromKubectl) {
  auto f = FleetFromNodes(R"({"items": [
    {"metadata": {"name": "n1", "labels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
                                           "nvidia.com/gpu.count": "2"}}},
    {"metadata": {"name": "cpu", "labels": {}}}]})",
                          mig::Catalog::Builtin());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ((*f)[1].node, "n1");
  EXPECT_EQ((*f)[1].local_index, 1);
}

}  // namespace
}  // namespace carve::plan
