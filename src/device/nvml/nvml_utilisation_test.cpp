// NvmlMachine::ReadUtilisation through the drop-in's GPM calls, against the
// simulator's own answer on the same state file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "device/nvml/nvml_machine.h"
#include "device/sim/sim_machine.h"
#include "util/activity_file.h"

namespace carve::device::nvml {
namespace {

class NvmlUtilisation : public ::testing::Test {
 protected:
  // One GPU of `alias`, MIG on, two 1g slices; returns their GPU instance ids.
  std::pair<int, int> Open(const char* alias) {
    const mig::GpuModel* model = mig::Catalog::Builtin().Find(alias);
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = ::testing::TempDir() + "/nvml-util-" + name + ".json";
    activity_ = ::testing::TempDir() + "/nvml-util-" + name + ".activity";
    std::filesystem::remove(activity_);
    auto state = sim::NewState({model}, true, 5);
    EXPECT_TRUE(state.ok());
    EXPECT_TRUE(sim::CreateStateFile(path_, *state, true).ok());
    ::setenv("CARVE_SIM", path_.c_str(), 1);
    sim_ = std::move(sim::SimMachine::Open(path_)).value();
    int ids[2] = {};
    for (int& id : ids) {
      id = sim_->CreateGpuInstance(0, model->profiles.front().id, std::nullopt)->id;
      EXPECT_TRUE(sim_->CreateComputeInstance(0, id, 0, std::nullopt).ok());
    }
    auto n = NvmlMachine::Open(CARVE_NVML_SHIM);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    nvml_ = std::move(n).value();
    return {ids[0], ids[1]};
  }
  std::string path_, activity_;
  std::unique_ptr<sim::SimMachine> sim_;
  std::unique_ptr<NvmlMachine> nvml_;
};

TEST_F(NvmlUtilisation, GpmMovesOnTheBusySliceOnly) {
  auto [a, b] = Open("h100-80gb");
  ASSERT_TRUE(sim_->Attach(0, a, std::nullopt, {99, "echo", 512, -1, -1, false, activity_}).ok());
  auto writer = ActivityWriter::Open(activity_);
  ASSERT_TRUE(writer.ok());
  auto first = nvml_->ReadUtilisation(0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 2u);
  (*writer)->Add(0, 200);
  auto next = nvml_->ReadUtilisation(0);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_EQ(next->size(), 2u);
  for (const auto& s : *next) {
    ASSERT_TRUE(s.value) << s.unavailable;
    if (s.gi == a) {
      EXPECT_GT(s.value->sm, 0.0);
      EXPECT_GT(s.value->memory_bandwidth, 0.0);
      EXPECT_GT(s.value->tensor, 0.0);
      EXPECT_LE(s.value->sm, 1.0);
    } else {
      EXPECT_EQ(s.gi, b);
      EXPECT_EQ(s.value->sm, 0.0);
      EXPECT_EQ(s.value->memory_bandwidth, 0.0);
    }
  }
}

TEST_F(NvmlUtilisation, AmpereSaysWhatTheSimulatorSays) {
  Open("a100-80gb");
  auto n = nvml_->ReadUtilisation(0);
  auto s = sim_->ReadUtilisation(0);
  ASSERT_TRUE(n.ok() && s.ok()) << n.status().ToString();
  ASSERT_EQ(n->size(), s->size());
  for (size_t i = 0; i < n->size(); ++i) {
    EXPECT_FALSE((*n)[i].value);
    EXPECT_EQ((*n)[i].gi, (*s)[i].gi);
    EXPECT_EQ((*n)[i].unavailable, (*s)[i].unavailable);
    EXPECT_NE((*n)[i].unavailable.find("DCGM"), std::string::npos);
  }
}

}  // namespace
}  // namespace carve::device::nvml
