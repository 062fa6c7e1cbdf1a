// NvmlMachine's faults through the drop-in's Xid events, against the
// simulator on the same state file.
#include <gtest/gtest.h>

#include <cstdlib>

#include "device/nvml/nvml_machine.h"
#include "device/sim/sim_machine.h"

namespace carve::device::nvml {
namespace {

class NvmlFaults : public ::testing::Test {
 protected:
  // One H100, MIG on, two 1g slices; returns their GPU instance ids.
  std::pair<int, int> Open() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = ::testing::TempDir() + "/nvml-faults-" + name + ".json";
    auto state = sim::NewState({mig::Catalog::Builtin().Find("h100-80gb")}, true, 5);
    EXPECT_TRUE(state.ok());
    EXPECT_TRUE(sim::CreateStateFile(path_, *state, true).ok());
    ::setenv("CARVE_SIM", path_.c_str(), 1);
    sim_ = std::move(sim::SimMachine::Open(path_)).value();
    int ids[2] = {};
    for (int& id : ids) {
      id = sim_->CreateGpuInstance(0, 19, std::nullopt)->id;
      EXPECT_TRUE(sim_->CreateComputeInstance(0, id, 0, std::nullopt).ok());
    }
    return {ids[0], ids[1]};
  }
  static std::unique_ptr<NvmlMachine> Nvml() {
    auto n = NvmlMachine::Open(CARVE_NVML_SHIM);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return std::move(n).value();
  }
  // GpuInstance::fault of each instance of GPU 0, by id.
  static std::map<int, std::string> Faults(Machine& m) {
    auto gpus = m.Gpus();
    EXPECT_TRUE(gpus.ok()) << gpus.status().ToString();
    std::map<int, std::string> out;
    for (const auto& gi : (*gpus)[0].gpu_instances) out[gi.id] = gi.fault;
    return out;
  }
  std::string path_;
  std::unique_ptr<sim::SimMachine> sim_;
};

TEST_F(NvmlFaults, XidEventsFillTheFaultAsTheSimulatorDoes) {
  auto [a, b] = Open();
  auto nvml = Nvml();
  EXPECT_EQ(Faults(*nvml), (std::map<int, std::string>{{a, ""}, {b, ""}}));
  ASSERT_TRUE(sim_->FailGpuInstance(0, b, 94).ok());
  std::map<int, std::string> want{{a, ""}, {b, "Xid 94: contained ECC error"}};
  EXPECT_EQ(Faults(*nvml), want);
  EXPECT_EQ(Faults(*sim_), want);
  EXPECT_EQ(Faults(*nvml), want);  // remembered: the event came once
  auto fresh = Nvml();             // a carve started after the failure learns it too
  EXPECT_EQ(Faults(*fresh), want);
}

TEST_F(NvmlFaults, AFaultLastsUntilItsInstanceIsGone) {
  auto [a, b] = Open();
  auto nvml = Nvml();
  ASSERT_TRUE(sim_->FailGpuInstance(0, a, 79).ok());
  EXPECT_EQ(Faults(*nvml)[a], "Xid 79: GPU has fallen off the bus");
  ASSERT_TRUE(nvml->DestroyComputeInstance(0, a, 0).ok());
  ASSERT_TRUE(nvml->DestroyGpuInstance(0, a).ok());
  ASSERT_TRUE(nvml->CreateGpuInstance(0, 19, std::nullopt).ok());  // the same id again
  EXPECT_EQ(Faults(*nvml), (std::map<int, std::string>{{a, ""}, {b, ""}}));
}

TEST_F(NvmlFaults, ADriverWithoutEventsReportsNoFaults) {
  auto [a, b] = Open();
  auto lib = NvmlLibrary::Load(CARVE_NVML_SHIM);  // keeps the library loaded and started
  ASSERT_TRUE(lib.ok());
  NvmlFunctions fn = (*lib)->fn();
  fn.nvmlEventSetCreate = nullptr;
  fn.nvmlEventSetWait_v2 = nullptr;
  fn.nvmlEventSetWait = nullptr;
  auto old = NvmlMachine::Over(NvmlLibrary::FromFunctions(fn));
  ASSERT_TRUE(sim_->FailGpuInstance(0, a, 94).ok());
  EXPECT_EQ(Faults(*old), (std::map<int, std::string>{{a, ""}, {b, ""}}));
}

}  // namespace
}  // namespace carve::device::nvml
