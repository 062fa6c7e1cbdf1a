#include "up/failover.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace carve::up {
namespace {

const mig::GpuModel& H100() { return *mig::Catalog::Builtin().Find("h100-80gb"); }

// A slice of a plan: profile, start, and the model it serves (-1: none).
struct S {
  const char* profile;
  int start;
  int model;
};

plan::PlannedGpu Gpu(int index, std::vector<S> slices) {
  plan::PlannedGpu g;
  g.gpu.index = g.gpu.local_index = index;
  g.gpu.model = &H100();
  for (const auto& [name, start, model] : slices) {
    plan::PlannedSlice s;
    s.profile = H100().FindProfile(name);
    s.start = start;
    s.memory_mib = s.profile->memory_mib;
    plan::PlacedReplica r;
    r.model = model;
    r.memory_mib = 8000;
    if (model >= 0) s.replicas.push_back(r);
    g.slices.push_back(s);
    g.gpu.current.push_back({s.profile, start});
  }
  return g;
}

plan::Plan PlanOf(std::vector<plan::PlannedGpu> gpus) {
  plan::Plan p;
  p.models = {plan::ModelResult{"chat"}, plan::ModelResult{"embed"}};
  p.gpus = std::move(gpus);
  return p;
}

// "GPU:profile@start=model" for every slice, "-" for an empty one, sorted.
std::vector<std::string> Slices(const plan::Plan& p) {
  std::vector<std::string> out;
  for (const auto& g : p.gpus)
    for (const auto& s : g.slices)
      out.push_back(fmt::format("{}:{}@{}={}", g.gpu.local_index, s.profile->name, s.start,
                                s.replicas.empty() ? "-" : p.models[s.replicas[0].model].name));
  std::sort(out.begin(), out.end());
  return out;
}

device::SliceRef At(int gpu, const char* profile, int start) { return {gpu, profile, start}; }

TEST(AvoidQuarantined, AReplicaLeavesItsFailedSliceWhichStaysEmpty) {
  auto p = PlanOf({Gpu(0, {{"1g.10gb", 0, 0}, {"1g.10gb", 1, 1}})});
  auto lines = AvoidQuarantined(p, {At(0, "1g.10gb", 0)}, {});
  EXPECT_EQ(Slices(p),
            (std::vector<std::string>{"0:1g.10gb@0=-", "0:1g.10gb@1=embed", "0:1g.10gb@2=chat"}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "0:1g.10gb@0 (chat) moves to a new 0:1g.10gb@2");
}

TEST(AvoidQuarantined, ASpareComesFirstThenAnEmptySliceLargeEnough) {
  // A free placement on GPU 0 exists, but the spare on GPU 1 is taken.
  auto p = PlanOf({Gpu(0, {{"1g.10gb", 0, 0}}), Gpu(1, {{"1g.10gb", 6, -1}})});
  auto lines = AvoidQuarantined(p, {At(0, "1g.10gb", 0)}, {At(1, "1g.10gb", 6)});
  EXPECT_EQ(Slices(p), (std::vector<std::string>{"0:1g.10gb@0=-", "1:1g.10gb@6=chat"}));
  EXPECT_EQ(lines, std::vector<std::string>{"0:1g.10gb@0 (chat) moves to the spare 1:1g.10gb@6"});
  // No spare: an empty slice that holds the replica's memory, not one too small.
  auto q = PlanOf({Gpu(0, {{"2g.20gb", 0, 0}, {"1g.10gb", 2, -1}, {"3g.40gb", 4, -1}})});
  q.gpus[0].slices[0].replicas[0].memory_mib = 15000;
  AvoidQuarantined(q, {At(0, "2g.20gb", 0)}, {});
  EXPECT_EQ(Slices(q),
            (std::vector<std::string>{"0:1g.10gb@2=-", "0:2g.20gb@0=-", "0:3g.40gb@4=chat"}));
}

TEST(AvoidQuarantined, AFullGpuSendsItsReplicaToAnotherOfTheSameModel) {
  auto p = PlanOf({Gpu(0, {{"3g.40gb", 0, 0}, {"3g.40gb", 4, 1}}), Gpu(1, {})});
  AvoidQuarantined(p, {At(0, "3g.40gb", 4)}, {});
  EXPECT_EQ(Slices(p),
            (std::vector<std::string>{"0:3g.40gb@0=chat", "0:3g.40gb@4=-", "1:3g.40gb@0=embed"}));
}

TEST(AvoidQuarantined, APlannedSliceOverTheFailedOneMovesAndWhatFitsNowhereIsDropped) {
  // The plan grew chat to 7g over the failed 1g@3: nowhere else holds a 7g.
  auto p = PlanOf({Gpu(0, {{"7g.80gb", 0, 0}})});
  p.gpus[0].gpu.current = {{H100().FindProfile("1g.10gb"), 3}};
  auto lines = AvoidQuarantined(p, {At(0, "1g.10gb", 3)}, {});
  EXPECT_EQ(Slices(p), std::vector<std::string>{"0:1g.10gb@3=-"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("0:7g.80gb@0 (chat) fits nowhere free"), std::string::npos) << lines[0];
}

TEST(ReserveSpares, KeepsItsSparesThenFillsGpusInUseFirst) {
  auto p = PlanOf({Gpu(0, {{"3g.40gb", 0, 0}}), Gpu(1, {}), Gpu(2, {{"4g.40gb", 0, 1}})});
  std::string note;
  // 1:1g@6 was a spare: kept although GPU 1 serves nothing.
  auto spares = ReserveSpares(p, "1g.10gb", 2, {At(1, "1g.10gb", 6)}, note);
  ASSERT_EQ(spares.size(), 2u);
  EXPECT_EQ(spares[0].str(), "1:1g.10gb@6");
  EXPECT_EQ(spares[1].str(), "0:1g.10gb@4");
  EXPECT_EQ(note, "");
  auto slices = Slices(p);
  EXPECT_EQ(std::count(slices.begin(), slices.end(), "0:1g.10gb@4=-"), 1);
}

TEST(ReserveSpares, AFailoverKeepsWhatIsLeftAndMakesNoneNew) {
  auto p = PlanOf({Gpu(0, {{"3g.40gb", 0, 0}})});
  std::string note;
  auto spares = ReserveSpares(p, "1g.10gb", 2, {At(0, "1g.10gb", 6)}, note, /*make_new=*/false);
  ASSERT_EQ(spares.size(), 1u);
  EXPECT_EQ(spares[0].str(), "0:1g.10gb@6");
  EXPECT_EQ(Slices(p), (std::vector<std::string>{"0:1g.10gb@6=-", "0:3g.40gb@0=chat"}));
}

TEST(ReserveSpares, NeverOverAQuarantinedSliceAndSaysWhenFewerFit) {
  auto p = PlanOf({Gpu(0, {{"4g.40gb", 0, 0}, {"3g.40gb", 4, 1}})});
  AvoidQuarantined(p, {At(0, "3g.40gb", 4)}, {});  // embed fits nowhere: GPU 0 is full
  std::string note;
  auto spares = ReserveSpares(p, "1g.10gb", 1, {}, note);
  EXPECT_TRUE(spares.empty());
  EXPECT_EQ(note, "spare: 0 of 1 1g.10gb slice(s) fit beside the plan");
}

}  // namespace
}  // namespace carve::up
