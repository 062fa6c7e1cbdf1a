#include "up/live_journal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace carve::up {
namespace {

const mig::GpuModel& H100() { return *mig::Catalog::Builtin().Find("h100-80gb"); }

device::Gpu Gpu(int index, std::vector<std::pair<const char*, int>> slices) {
  device::Gpu g;
  g.index = index;
  g.model = &H100();
  g.mig.current = g.mig.pending = true;
  int id = 1;
  for (const auto& [name, start] : slices) {
    const mig::Profile* p = H100().FindProfile(name);
    device::GpuInstance gi;
    gi.id = id++;
    gi.profile = name;
    gi.profile_id = p->id;
    gi.placement = {start, p->size()};
    g.gpu_instances.push_back(gi);
  }
  return g;
}

std::vector<std::string> Names(const apply::GpuLayout& l) {
  std::vector<std::string> out;
  for (const auto& s : l.slices) out.push_back(s.Name());
  return out;
}

TEST(DropLeftovers, ALeftoverGoesFromItsGpusLayoutOrFromAGpuThePlanLeavesAlone) {
  auto gpus = {Gpu(0, {{"1g.10gb", 0}, {"1g.10gb", 1}}), Gpu(1, {{"7g.80gb", 0}}),
               Gpu(2, {{"3g.40gb", 0}})};
  apply::GpuLayout zero{0, &H100(), true, {}, "plan"};
  zero.slices = {apply::FullSlice(H100(), *H100().FindProfile("1g.10gb"), 0),
                 apply::FullSlice(H100(), *H100().FindProfile("1g.10gb"), 1)};
  auto out = DropLeftovers({zero}, gpus, {{0, "1g.10gb", 1}, {1, "7g.80gb", 0}, {0, "1g.10gb", 0}},
                           /*keep=*/{"0:1g.10gb@0"});
  ASSERT_EQ(out.size(), 2u);  // GPU 2 holds no leftover: still left alone
  EXPECT_EQ(out[0].gpu, 0);
  EXPECT_EQ(Names(out[0]), std::vector<std::string>{"1g.10gb@0"});  // kept: the plan uses it
  EXPECT_EQ(out[1].gpu, 1);
  EXPECT_TRUE(out[1].mig);
  EXPECT_TRUE(out[1].slices.empty());
}

TEST(LiveJournal, RoundTripsAndSaysWhatIsWrongWithABadOne) {
  std::string dir = ::testing::TempDir() + "/live-journal";
  std::filesystem::create_directories(dir);
  RemoveLiveJournal(dir);
  auto none = ReadLiveJournal(dir);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(WriteLiveJournal(
                  dir, {"/s.yaml", "2026-12-04T10:00:00Z", "final layout", {{1, "7g.80gb", 0}}})
                  .ok());
  auto j = ReadLiveJournal(dir);
  ASSERT_TRUE(j.ok() && j->has_value());
  EXPECT_EQ((*j)->step, "final layout");
  ASSERT_EQ((*j)->slices.size(), 1u);
  EXPECT_EQ((*j)->slices[0].str(), "1:7g.80gb@0");
  std::ofstream(dir + "/live.journal") << "{\"slices\": [\"nonsense\"]}";
  auto bad = ReadLiveJournal(dir);
  EXPECT_FALSE(bad.ok());
  std::ofstream(dir + "/live.journal") << "[]";
  bad = ReadLiveJournal(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("live.journal"), std::string::npos);
  RemoveLiveJournal(dir);
}

}  // namespace
}  // namespace carve::up
