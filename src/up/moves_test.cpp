#include "up/moves.h"

#include <gtest/gtest.h>

namespace carve::up {
namespace {

const mig::GpuModel& H100() { return *mig::Catalog::Builtin().Find("h100-80gb"); }

apply::GpuLayout Layout(int gpu, std::vector<std::pair<const char*, int>> slices) {
  apply::GpuLayout l{gpu, &H100(), true, {}, "the plan"};
  for (const auto& [name, start] : slices)
    l.slices.push_back(apply::FullSlice(H100(), *H100().FindProfile(name), start));
  return l;
}

device::Gpu Gpu(int index, bool mig) {
  device::Gpu g;
  g.index = index;
  g.model = &H100();
  g.mig.current = g.mig.pending = mig;
  return g;
}

Slot At(int gpu, const char* profile, int start) {
  Slot s;
  s.gpu = gpu, s.profile = profile, s.start = start;
  return s;
}

std::vector<std::string> Names(const apply::GpuLayout& l) {
  std::vector<std::string> out;
  for (const auto& s : l.slices) out.push_back(s.Name());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(InterimLayouts, AnOldSliceOutOfTheWayStaysUntilItsSuccessorServes) {
  // chat moves from 1g.10gb@6 to 2g.20gb@0: the old slice stays in the interim.
  auto fin = apply::Layouts{Layout(0, {{"2g.20gb", 0}, {"1g.10gb", 4}})};
  Interim in =
      InterimLayouts(fin, {Gpu(0, true)}, {{"chat/0", At(0, "1g.10gb", 6)}}, {At(0, "2g.20gb", 0)});
  EXPECT_TRUE(in.stop_first.empty());
  ASSERT_EQ(in.layouts.size(), 1u);
  EXPECT_EQ(Names(in.layouts[0]),
            (std::vector<std::string>{"1g.10gb@4", "1g.10gb@6", "2g.20gb@0"}));
}

TEST(InterimLayouts, AnOldSliceInTheWayStopsFirst) {
  // Grow in place: 1g.10gb@0 becomes 2g.20gb@0, which covers unit 0.
  auto fin = apply::Layouts{Layout(0, {{"2g.20gb", 0}})};
  Interim in =
      InterimLayouts(fin, {Gpu(0, true)}, {{"chat/0", At(0, "1g.10gb", 0)}}, {At(0, "2g.20gb", 0)});
  ASSERT_EQ(in.stop_first.size(), 1u);
  EXPECT_NE(in.stop_first["chat/0"].find("overlaps the new 2g.20gb@0"), std::string::npos)
      << in.stop_first["chat/0"];
  EXPECT_EQ(Names(in.layouts[0]), std::vector<std::string>{"2g.20gb@0"});
}

TEST(InterimLayouts, ASuccessorOnTheSameSliceOrAModeChangeStopsFirst) {
  // New settings on the same slice: the old engine must leave it.
  auto same = apply::Layouts{Layout(0, {{"1g.10gb", 0}})};
  Interim in = InterimLayouts(same, {Gpu(0, true)}, {{"chat/0", At(0, "1g.10gb", 0)}},
                              {At(0, "1g.10gb", 0)});
  ASSERT_EQ(in.stop_first.size(), 1u);
  EXPECT_NE(in.stop_first["chat/0"].find("wanted on its slice"), std::string::npos);
  // A whole GPU that the plan turns MIG on.
  auto sliced = apply::Layouts{Layout(0, {{"1g.10gb", 0}})};
  Interim mode = InterimLayouts(sliced, {Gpu(0, false)}, {{"big/0", At(0, "whole", 0)}},
                                {At(0, "1g.10gb", 0)});
  ASSERT_EQ(mode.stop_first.count("big/0"), 1u);
  EXPECT_NE(mode.stop_first["big/0"].find("MIG mode"), std::string::npos);
}

TEST(InterimLayouts, AGpuThePlanLeavesAloneKeepsItsSlices) {
  // chat moves from GPU 1 to GPU 0; the plan no longer names GPU 1.
  auto fin = apply::Layouts{Layout(0, {{"1g.10gb", 0}})};
  Interim in = InterimLayouts(fin, {Gpu(0, true), Gpu(1, true)}, {{"chat/0", At(1, "1g.10gb", 3)}},
                              {At(0, "1g.10gb", 0)});
  EXPECT_TRUE(in.stop_first.empty());
  ASSERT_EQ(in.layouts.size(), 1u);
  EXPECT_EQ(Names(in.layouts[0]), std::vector<std::string>{"1g.10gb@0"});
}

TEST(InterimLayouts, ASliceTheFinalLayoutKeepsIsNotAddedTwice) {
  // The old replica stops (its model left the spec) but the plan reuses its slice.
  auto fin = apply::Layouts{Layout(0, {{"1g.10gb", 2}})};
  Interim in = InterimLayouts(fin, {Gpu(0, true)}, {{"gone/0", At(0, "1g.10gb", 2)}}, {});
  EXPECT_TRUE(in.stop_first.empty());
  EXPECT_EQ(Names(in.layouts[0]), std::vector<std::string>{"1g.10gb@2"});
}

// A GPU in MIG mode holding `slices` now (profile, start); GI ids count from 1.
device::Gpu Holding(int index, std::vector<std::pair<const char*, int>> slices) {
  device::Gpu g = Gpu(index, true);
  int id = 0;
  for (const auto& [name, start] : slices) {
    device::GpuInstance gi;
    gi.id = ++id;
    gi.profile = name;
    gi.placement = {start, H100().FindProfile(name)->size()};
    gi.compute_instances.push_back(device::ComputeInstance{});
    g.gpu_instances.push_back(gi);
  }
  return g;
}

TEST(DarkModels, AModelIsDarkOnlyWhenEveryReplicaStopsFirstAndOneMoves) {
  Interim in;
  in.stop_first = {{"chat/0", "in the way"},
                   {"chat/1", "in the way"},
                   {"embed/0", "in the way"},
                   {"gone/0", "in the way"}};
  std::map<std::string, std::string> model_of = {{"chat/0", "chat"},
                                                 {"chat/1", "chat"},
                                                 {"embed/0", "embed"},
                                                 {"embed/1", "embed"},
                                                 {"gone/0", "gone"}};
  // embed keeps embed/1 ready; gone/0 stops without a successor (not a move).
  EXPECT_EQ(DarkModels(in, model_of, {"chat/0", "embed/0"}), std::set<std::string>{"chat"});
  EXPECT_TRUE(DarkModels(in, model_of, {}).empty());
}

TEST(AddTemporaryHomes, AFreePlacementOnAGpuTheChangeListsIsMadeAndKeptInTheInterim) {
  // chat 1g.10gb@0 gets new settings on the same slice; embed holds 1g.10gb@1.
  Interim in{{Layout(0, {{"1g.10gb", 0}, {"1g.10gb", 1}})}, {{"chat/0", "wanted on its slice"}}};
  auto homes = AddTemporaryHomes(in, {Holding(0, {{"1g.10gb", 0}, {"1g.10gb", 1}})},
                                 {{"chat", At(0, "1g.10gb", 0)}}, {"0:1g.10gb@0", "0:1g.10gb@1"});
  ASSERT_EQ(homes.size(), 1u);
  EXPECT_EQ(homes[0].model, "chat");
  EXPECT_TRUE(homes[0].made);
  EXPECT_EQ(homes[0].slot.where(), "0:1g.10gb@2");
  EXPECT_EQ(Names(in.layouts[0]),
            (std::vector<std::string>{"1g.10gb@0", "1g.10gb@1", "1g.10gb@2"}));
}

TEST(AddTemporaryHomes, AnIdleSliceOfTheProfileIsTakenBeforeANewOne) {
  // GPU 1 holds an idle 1g.10gb@6 the change leaves alone; a spare at @5 is busy.
  Interim in{{Layout(0, {{"1g.10gb", 0}})}, {{"chat/0", "wanted on its slice"}}};
  auto homes = AddTemporaryHomes(
      in, {Holding(0, {{"1g.10gb", 0}}), Holding(1, {{"1g.10gb", 5}, {"1g.10gb", 6}})},
      {{"chat", At(0, "1g.10gb", 0)}}, {"0:1g.10gb@0", "1:1g.10gb@5"});
  ASSERT_EQ(homes.size(), 1u);
  EXPECT_FALSE(homes[0].made);
  EXPECT_EQ(homes[0].slot.where(), "1:1g.10gb@6");
  EXPECT_EQ(Names(in.layouts[0]), std::vector<std::string>{"1g.10gb@0"});  // nothing added
}

TEST(AddTemporaryHomes, NoHomeOnAFullGpuOrOverASliceTheInterimMakes) {
  // The interim layout makes a 4g.40gb@0 over the free units 0-3; 4-6 are taken now.
  Interim in{{Layout(0, {{"4g.40gb", 0}, {"1g.10gb", 4}, {"1g.10gb", 5}, {"1g.10gb", 6}})},
             {{"chat/0", "in the way"}}};
  auto homes = AddTemporaryHomes(in, {Holding(0, {{"1g.10gb", 4}, {"1g.10gb", 5}, {"1g.10gb", 6}})},
                                 {{"chat", At(0, "1g.10gb", 4)}},
                                 {"0:1g.10gb@4", "0:1g.10gb@5", "0:1g.10gb@6"});
  EXPECT_TRUE(homes.empty());
  EXPECT_EQ(in.layouts[0].slices.size(), 4u);
}

TEST(AddTemporaryHomes, TwoModelsDoNotShareOneHome) {
  Interim in{{Layout(0, {{"1g.10gb", 0}, {"1g.10gb", 1}})}, {}};
  auto homes = AddTemporaryHomes(in, {Holding(0, {{"1g.10gb", 0}, {"1g.10gb", 1}})},
                                 {{"chat", At(0, "1g.10gb", 0)}, {"embed", At(0, "1g.10gb", 1)}},
                                 {"0:1g.10gb@0", "0:1g.10gb@1"});
  ASSERT_EQ(homes.size(), 2u);
  EXPECT_NE(homes[0].slot.where(), homes[1].slot.where());
}

}  // namespace
}  // namespace carve::up

namespace carve::up {
namespace {

// A plan on one H100 with the slices given as (profile, start, model index).
plan::Plan PlanOf(std::vector<std::tuple<const char*, int, int>> slices,
                  std::vector<std::pair<const char*, int>> current = {}) {
  plan::Plan p;
  p.models = {plan::ModelResult{"chat"}, plan::ModelResult{"embed"}};
  plan::PlannedGpu g;
  g.gpu.model = &H100();
  for (const auto& [name, start] : current)
    g.gpu.current.push_back({H100().FindProfile(name), start});
  for (const auto& [name, start, model] : slices) {
    plan::PlannedSlice s;
    s.profile = H100().FindProfile(name);
    s.start = start;
    plan::PlacedReplica r;
    r.model = model;
    s.replicas.push_back(r);
    g.slices.push_back(s);
  }
  p.gpus.push_back(g);
  return p;
}

std::vector<std::string> Where(const plan::Plan& p) {
  std::vector<std::string> out;
  for (const auto& s : p.gpus[0].slices)
    out.push_back(p.models[s.replicas[0].model].name + "@" + std::to_string(s.start) +
                  (s.kept ? " kept" : ""));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(StayPut, AModelThePlannerMovedForNothingStaysOnItsSlice) {
  // embed runs on 1g@5, chat on 1g@4; chat grows to 2g. The planner chose
  // 2g@0 + embed on 1g@4; embed can stay on 1g@5 (2g@0 and 1g@5 are legal together).
  auto p = PlanOf({{"2g.20gb", 0, 0}, {"1g.10gb", 4, 1}}, {{"1g.10gb", 4}, {"1g.10gb", 5}});
  StayPut(p, {{"chat", At(0, "1g.10gb", 4)}, {"embed", At(0, "1g.10gb", 5)}}, {"chat", "embed"});
  EXPECT_EQ(Where(p), (std::vector<std::string>{"chat@0", "embed@5 kept"}));
}

TEST(StayPut, TwoModelsOnSwappedSlicesSwapBack) {
  auto p = PlanOf({{"1g.10gb", 4, 0}, {"1g.10gb", 5, 1}}, {{"1g.10gb", 4}, {"1g.10gb", 5}});
  StayPut(p, {{"chat", At(0, "1g.10gb", 5)}, {"embed", At(0, "1g.10gb", 4)}}, {"chat", "embed"});
  EXPECT_EQ(Where(p), (std::vector<std::string>{"chat@5 kept", "embed@4 kept"}));
}

TEST(StayPut, NotWhenTheLayoutWouldBeIllegalOrTheSettingsChanged) {
  // embed on 1g@1 would overlap the planned 2g@0: it stays where planned.
  auto p = PlanOf({{"2g.20gb", 0, 0}, {"1g.10gb", 4, 1}});
  StayPut(p, {{"embed", At(0, "1g.10gb", 1)}}, {"embed"});
  EXPECT_EQ(Where(p), (std::vector<std::string>{"chat@0", "embed@4"}));
  // New settings for embed: its engine restarts anyway; no reason to stay.
  auto q = PlanOf({{"2g.20gb", 0, 0}, {"1g.10gb", 4, 1}});
  StayPut(q, {{"embed", At(0, "1g.10gb", 5)}}, {"chat"});
  EXPECT_EQ(Where(q), (std::vector<std::string>{"chat@0", "embed@4"}));
}

}  // namespace
}  // namespace carve::up
