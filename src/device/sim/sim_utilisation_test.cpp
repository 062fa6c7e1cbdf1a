// The simulator's utilisation: the work processes report in their activity
// files makes their slice busy, and only theirs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "device/sim/sim_machine.h"
#include "device/utilisation.h"

namespace carve::device::sim {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<SimMachine> WithTwoOneGs(std::string_view alias, int* gi_a, int* gi_b) {
  auto s = NewState({mig::Catalog::Builtin().Find(alias)}, true, 7);
  EXPECT_TRUE(s.ok());
  auto m = SimMachine::InMemory(*s);
  const mig::GpuModel* model = mig::Catalog::Builtin().Find(alias);
  const mig::Profile& one_g = model->profiles.front();
  for (int* gi : {gi_a, gi_b}) {
    auto made = m->CreateGpuInstance(0, one_g.id, std::nullopt);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    *gi = made->id;
    EXPECT_TRUE(m->CreateComputeInstance(0, *gi, 0, std::nullopt).ok());
  }
  return m;
}

class SimUtilisation : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("carve-sim-util-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(SimActivity, BetweenChargesTokensToTheSliceComputeSlices) {
  ActivitySample a{0, {0, 0, 0}, 1};
  ActivitySample b{1'000'000'000, {10, 0, 1000}, 1};  // 1000 generated tokens in 1 s
  Utilisation u = Between(a, b);
  EXPECT_DOUBLE_EQ(u.sm, 0.5);
  EXPECT_DOUBLE_EQ(u.memory_bandwidth, 0.4);
  EXPECT_DOUBLE_EQ(u.tensor, 0.2);
  b.compute_slices = 2;  // the same work on twice the SMs
  EXPECT_DOUBLE_EQ(Between(a, b).sm, 0.25);
  b.counts.completion_tokens = 100'000;  // more than the slice can do: saturated
  EXPECT_DOUBLE_EQ(Between(a, b).sm, 1.0);
  b.counts.completion_tokens = 0;  // a process left: no negative work
  EXPECT_DOUBLE_EQ(Between(ActivitySample{0, {0, 0, 50}, 1}, b).sm, 0.0);
  EXPECT_DOUBLE_EQ(Between(b, b).sm, 0.0);  // no time passed
}

TEST_F(SimUtilisation, WorkOnOneSliceLeavesItsSiblingIdle) {
  int a = 0, b = 0;
  auto m = WithTwoOneGs("h100-80gb", &a, &b);
  std::string file = (dir_ / "activity").string();
  SimProcess p{4242, "echo", 1024, -1, -1, false, file};
  ASSERT_TRUE(m->Attach(0, a, std::nullopt, p).ok());
  auto writer = ActivityWriter::Open(file);
  ASSERT_TRUE(writer.ok());
  auto first = m->ReadUtilisation(0);  // measures 100 ms of nothing
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 2u);
  for (const auto& s : *first) EXPECT_EQ(s.value->sm, 0.0);
  (*writer)->Add(100, 400);
  auto next = m->ReadUtilisation(0);
  ASSERT_TRUE(next.ok());
  for (const auto& s : *next) {
    ASSERT_TRUE(s.value) << s.unavailable;
    if (s.gi == a) {
      EXPECT_GT(s.value->sm, 0.0);
      EXPECT_GT(s.value->tensor, 0.0);
      EXPECT_GT(s.value->memory_bandwidth, 0.0);
      EXPECT_LE(s.value->sm, 1.0);
    } else {
      EXPECT_EQ(s.gi, b);
      EXPECT_EQ(s.value->sm, 0.0);
    }
  }
  auto sample = m->SampleActivity(0, a);
  ASSERT_TRUE(sample.ok());
  EXPECT_EQ(sample->counts, (ActivityCounts{1, 100, 400}));
  EXPECT_EQ(m->SampleActivity(0, b)->counts, ActivityCounts{});
  EXPECT_EQ(m->SampleActivity(0, 99).status().code(), Code::kNotFound);
}

TEST(SimUtilisationAmpere, SaysNvmlHasNoneAndNamesDcgm) {
  int a = 0, b = 0;
  auto m = WithTwoOneGs("a100-80gb", &a, &b);
  auto u = m->ReadUtilisation(0);
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->size(), 2u);
  for (const auto& s : *u) {
    EXPECT_FALSE(s.value);
    EXPECT_NE(s.unavailable.find("Ampere"), std::string::npos) << s.unavailable;
    EXPECT_NE(s.unavailable.find("DCGM"), std::string::npos) << s.unavailable;
  }
  EXPECT_EQ(m->ReadUtilisation(3).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace carve::device::sim
