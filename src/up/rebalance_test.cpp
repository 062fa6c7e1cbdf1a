#include "up/rebalance.h"

#include <gtest/gtest.h>

#include "plan/spec_plan.h"

namespace carve::up {
namespace {

const mig::GpuModel& H100() { return *mig::Catalog::Builtin().Find("h100-80gb"); }

constexpr const char* kSpec = R"(version: v1
models:
  - {name: chat, engine: echo, memory: 30GiB, replicas: 1}
  - {name: embed, engine: echo, memory: 30GiB, replicas: 1}
)";

spec::Spec Spec(const char* text = kSpec) {
  auto s = spec::ParseSpec(text, "carve.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

// An H100 (MIG on) holding `slices` ("4g.40gb@0"); `pids[i]` > 0 runs on slice i.
device::Gpu Gpu(int index, const std::vector<std::string>& slices, std::vector<int> pids = {}) {
  device::Gpu g;
  g.index = index;
  g.model = &H100();
  g.mig.current = g.mig.pending = true;
  for (size_t i = 0; i < slices.size(); ++i) {
    const std::string& s = slices[i];
    const mig::Profile* p = H100().FindProfile(s.substr(0, s.find('@')));
    device::GpuInstance gi;
    gi.id = int(i) + 1;
    gi.profile_id = p->id;
    gi.profile = p->name;
    gi.placement = {std::stoi(s.substr(s.find('@') + 1)), p->size()};
    g.gpu_instances.push_back(gi);
    if (i < pids.size() && pids[i] > 0)
      g.processes.push_back({static_cast<uint32_t>(pids[i]), "engine", 0, gi.id, 0});
  }
  return g;
}

RunningReplica Replica(const std::string& id, int gpu, const std::string& slice, int pid) {
  RunningReplica r;
  r.id = id;
  r.model = id.substr(0, id.find('/'));
  r.slot.gpu = gpu;
  r.slot.profile = slice.substr(0, slice.find('@'));
  r.slot.start = std::stoi(slice.substr(slice.find('@') + 1));
  r.pid = pid;
  return r;
}

RebalanceDecision DecideOn(const std::vector<device::Gpu>& gpus,
                           const std::vector<RunningReplica>& running, const char* text = kSpec) {
  spec::Spec s = Spec(text);
  std::vector<Candidate> cs;
  auto kept = plan::PlanSpecOnMachine(s, gpus);
  auto fresh = plan::PlanSpecOnMachineFresh(s, gpus);
  EXPECT_TRUE(kept.ok() && fresh.ok());
  for (const auto& [r, p] : {std::pair{Replan::kKept, *kept}, std::pair{Replan::kFresh, *fresh}}) {
    auto c = Evaluate(r, p, s, gpus, running);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) cs.push_back(*c);
  }
  return Decide(cs, gpus, running);
}

TEST(Rebalance, TwoHalfUsedGpusBecomeOneByAMakeBeforeBreakMove) {
  // chat on GPU 0, embed on GPU 1: one H100 holds both (4g.40gb + 3g.40gb).
  auto gpus = std::vector{Gpu(0, {"4g.40gb@0"}, {101}), Gpu(1, {"4g.40gb@0"}, {102})};
  auto d = DecideOn(
      gpus, {Replica("chat/0", 0, "4g.40gb@0", 101), Replica("embed/0", 1, "4g.40gb@0", 102)});
  ASSERT_TRUE(d.change) << d.why;
  EXPECT_EQ(d.chosen.gpus_freed, std::vector<int>{1});
  ASSERT_EQ(d.chosen.moves.size(), 1u);
  EXPECT_EQ(d.chosen.moves[0].id, "embed/0");
  EXPECT_EQ(d.chosen.moves[0].to.gpu, 0);
  EXPECT_FALSE(d.chosen.moves[0].stop_first) << d.chosen.moves[0].why;
  EXPECT_EQ(d.why, "frees GPU 1; 1 move, 1 make-before-break");
  // The after picture: GPU 1 holds nothing, GPU 0 both models.
  EXPECT_TRUE(d.chosen.after[1].slices.empty());
  EXPECT_EQ(d.chosen.after[0].slices.size(), 2u);
}

TEST(Rebalance, AnAlreadyCompactMachineHasNothingToRebalance) {
  auto gpus = std::vector{Gpu(0, {"4g.40gb@0", "3g.40gb@4"}, {101, 102}), Gpu(1, {})};
  auto d = DecideOn(
      gpus, {Replica("chat/0", 0, "4g.40gb@0", 101), Replica("embed/0", 0, "3g.40gb@4", 102)});
  EXPECT_FALSE(d.change);
  EXPECT_TRUE(d.chosen.moves.empty());
  EXPECT_NE(d.why.find("nothing to rebalance"), std::string::npos) << d.why;
}

TEST(Rebalance, IdleSlicesOnAGpuNoReplicaUsesAreFreedWithoutMoves) {
  // What a reload to a smaller spec leaves: GPU 1's slice lost its engine.
  auto gpus = std::vector{Gpu(0, {"4g.40gb@0", "3g.40gb@4"}, {101, 102}), Gpu(1, {"4g.40gb@0"})};
  auto d = DecideOn(
      gpus, {Replica("chat/0", 0, "4g.40gb@0", 101), Replica("embed/0", 0, "3g.40gb@4", 102)});
  ASSERT_TRUE(d.change) << d.why;
  EXPECT_EQ(d.chosen.gpus_freed, std::vector<int>{1});
  EXPECT_TRUE(d.chosen.moves.empty());
  EXPECT_EQ(d.why, "frees GPU 1; no engine moves");
}

TEST(Rebalance, ASliceAnotherProgramUsesKeepsItsGpu) {
  // GPU 1's slice runs a process that is not one of carve's engines.
  auto gpus =
      std::vector{Gpu(0, {"4g.40gb@0", "3g.40gb@4"}, {101, 102}), Gpu(1, {"4g.40gb@0"}, {999})};
  auto d = DecideOn(
      gpus, {Replica("chat/0", 0, "4g.40gb@0", 101), Replica("embed/0", 0, "3g.40gb@4", 102)});
  EXPECT_FALSE(d.change) << d.why;
  EXPECT_FALSE(d.chosen.after[1].slices.empty());
}

TEST(Rebalance, AWaitingModelIsMadeRoomFor) {
  // embed has no replica running (lost with its GPU, say): serving it is worth moves.
  auto gpus = std::vector{Gpu(0, {"4g.40gb@0"}, {101}), Gpu(1, {})};
  auto d = DecideOn(gpus, {Replica("chat/0", 0, "4g.40gb@0", 101)});
  ASSERT_TRUE(d.change) << d.why;
  EXPECT_EQ(d.chosen.models_met, std::vector<std::string>{"embed"});
  EXPECT_EQ(d.chosen.starts, std::vector<std::string>{"embed"});
  EXPECT_NE(d.why.find("serves embed (waiting now)"), std::string::npos) << d.why;
}

TEST(Rebalance, AStopFirstMoveCostsMoreThanAMakeBeforeBreakOne) {
  // The same gain (GPU 1 freed) through two moves of each kind.
  auto with = [](bool stop_first) {
    Candidate c;
    c.gpus_freed = {1};
    for (const char* id : {"a/0", "b/0"}) c.moves.push_back({id, "a", {}, {}, stop_first, "", 0});
    c.score = RebalanceWeights{}.gpu_freed - c.Cost({});
    return c;
  };
  Candidate mbb = with(false), first = with(true), home = with(true);
  EXPECT_GT(first.Cost({}), mbb.Cost({}));
  // Serving from a temporary home meanwhile costs less than waiting, more than none.
  for (auto& m : home.moves) m.temporary = "1:1g.10gb@6";
  EXPECT_GT(first.Cost({}), home.Cost({}));
  EXPECT_GT(home.Cost({}), mbb.Cost({}));
  auto worth = Decide({mbb}, {}, {});
  EXPECT_TRUE(worth.change) << worth.why;
  auto not_worth = Decide({first}, {}, {});
  EXPECT_FALSE(not_worth.change);
  EXPECT_NE(not_worth.why.find("is not worth 2 moves, 2 stop-first"), std::string::npos)
      << not_worth.why;
  // Of two candidates with the same gain, the cheaper one is chosen.
  EXPECT_EQ(Decide({first, mbb}, {}, {}).chosen.moves[0].stop_first, false);
}

TEST(Rebalance, TheJsonNamesEachMoveItsKindAndTheGpusFreed) {
  auto gpus = std::vector{Gpu(0, {"4g.40gb@0"}, {101}), Gpu(1, {"4g.40gb@0"}, {102})};
  auto j = RebalanceJson(DecideOn(
      gpus, {Replica("chat/0", 0, "4g.40gb@0", 101), Replica("embed/0", 1, "4g.40gb@0", 102)}));
  EXPECT_EQ(j["change"], true);
  EXPECT_EQ(j["gpus_freed"], nlohmann::ordered_json::array({1}));
  ASSERT_EQ(j["moves"].size(), 1u);
  EXPECT_EQ(j["moves"][0]["kind"], "make-before-break");
  EXPECT_EQ(j["moves"][0]["from"], "1:4g.40gb@0");
  EXPECT_EQ(j["moves"][0]["unavailable_max_s"], 0.0);
  EXPECT_EQ(j["before"][1]["slices"][0]["models"], nlohmann::ordered_json::array({"embed"}));
  EXPECT_TRUE(j["after"][1]["slices"].empty());
}

TEST(Rebalance, ReplanNamesRoundTrip) {
  for (Replan r : {Replan::kKept, Replan::kFresh}) EXPECT_EQ(ParseReplan(ReplanName(r)), r);
  EXPECT_EQ(ParseReplan(""), Replan::kNone);
  EXPECT_EQ(ParseReplan("sideways"), Replan::kNone);
}

}  // namespace
}  // namespace carve::up
