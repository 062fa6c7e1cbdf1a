#include "device/sim/sim_machine.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "mig/layout.h"

namespace carve::device::sim {
namespace {

const mig::GpuModel* Model(std::string_view alias) {
  const mig::GpuModel* m = mig::Catalog::Builtin().Find(alias);
  EXPECT_NE(m, nullptr) << alias;
  return m;
}

std::unique_ptr<SimMachine> Machine(std::string_view alias, bool mig_on, int count = 1) {
  std::vector<const mig::GpuModel*> models(count, Model(alias));
  auto s = NewState(models, mig_on, 42);
  EXPECT_TRUE(s.ok());
  return SimMachine::InMemory(*s);
}

TEST(SimMachine, InstancesNeedMigOn) {
  auto m = Machine("h100-80gb", false);
  auto r = m->CreateGpuInstance(0, 9, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotSupported);
  EXPECT_NE(r.status().hint().find("carve mig enable -i 0"), std::string::npos);
}

TEST(SimMachine, GpuInstanceIdsFollowThePlacement) {
  auto m = Machine("h100-80gb", true);
  EXPECT_EQ(m->CreateGpuInstance(0, 9, 4)->id, 2);   // 3g@4
  EXPECT_EQ(m->CreateGpuInstance(0, 14, 0)->id, 3);  // 2g@0
  EXPECT_EQ(m->CreateGpuInstance(0, 19, 2)->id, 9);  // 1g@2
  EXPECT_EQ(m->CreateGpuInstance(0, 19, 3)->id, 10);
}

TEST(SimMachine, ComputeInstancesBeforeGpuInstances) {
  auto m = Machine("h100-80gb", true);
  auto gi = m->CreateGpuInstance(0, 9, 0);
  ASSERT_TRUE(gi.ok());
  auto ci = m->CreateComputeInstance(0, gi->id, 2, std::nullopt);
  ASSERT_TRUE(ci.ok()) << ci.status().ToString();
  EXPECT_EQ(ci->uuid.rfind("MIG-", 0), 0u);
  Status st = m->DestroyGpuInstance(0, gi->id);
  EXPECT_EQ(st.code(), Code::kInUse);
  EXPECT_NE(st.message().find("still has compute instance(s) 0"), std::string::npos);
  EXPECT_TRUE(m->DestroyComputeInstance(0, gi->id, ci->id).ok());
  EXPECT_TRUE(m->DestroyGpuInstance(0, gi->id).ok());
}

TEST(SimMachine, ComputeSubdivisionsRespectCountsAndPlacements) {
  auto m = Machine("h100-80gb", true);
  int gi = m->CreateGpuInstance(0, 9, 4)->id;                          // 3g: 1c x3, or 2c + 1c
  EXPECT_TRUE(m->CreateComputeInstance(0, gi, 1, std::nullopt).ok());  // 2c at 0
  auto one = m->CreateComputeInstance(0, gi, 0, std::nullopt);         // 1c at 2
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->placement.start, 2);
  EXPECT_EQ(m->CreateComputeInstance(0, gi, 0, std::nullopt).status().code(),
            Code::kInsufficientResources);
  EXPECT_EQ(m->CreateComputeInstance(0, gi, 2, std::nullopt).status().code(),
            Code::kInsufficientResources);  // the full 3g CI overlaps both
}

TEST(SimMachine, ProcessesMakeASliceInUse) {
  auto m = Machine("h100-80gb", true);
  int gi = m->CreateGpuInstance(0, 9, 4)->id;
  int ci = m->CreateComputeInstance(0, gi, 2, std::nullopt)->id;
  ASSERT_TRUE(m->Attach(0, gi, std::nullopt, {4121, "vllm", 39117}).ok());
  Status st = m->DestroyComputeInstance(0, gi, ci);
  EXPECT_EQ(st.code(), Code::kInUse);
  EXPECT_NE(st.message().find("process 4121 (vllm, 38.2 GiB)"), std::string::npos) << st.message();
  EXPECT_EQ(m->GetGpu(0)->gpu_instances[0].memory_used_mib, 39117u);
  EXPECT_EQ(m->Attach(0, gi, std::nullopt, {4122, "big", 40000}).code(),
            Code::kInsufficientResources);
  ASSERT_TRUE(m->StopProcess(0, 4121, 0).ok());
  EXPECT_TRUE(m->DestroyComputeInstance(0, gi, ci).ok());
}

// carve up tells the machine about its engines through the Machine interface
// only; the simulator then holds their slices as in use.
TEST(SimMachine, NotedProcessHoldsItsSliceUntilForgotten) {
  auto sim = Machine("h100-80gb", true);
  device::Machine& m = *sim;
  int gi = m.CreateGpuInstance(0, 9, 4)->id;
  int ci = m.CreateComputeInstance(0, gi, 2, std::nullopt)->id;
  auto self = static_cast<uint32_t>(::getpid());  // alive: a tracked process stays while it runs
  ASSERT_TRUE(m.NoteProcess(0, {self, "echo", 1000, gi, -1}).ok());
  EXPECT_EQ(m.GetGpu(0)->gpu_instances[0].memory_used_mib, 1000u);
  EXPECT_EQ(m.DestroyComputeInstance(0, gi, ci).code(), Code::kInUse);
  ASSERT_TRUE(m.ForgetProcess(self).ok());
  EXPECT_TRUE(m.ForgetProcess(self).ok());  // forgetting twice is no error
  EXPECT_TRUE(m.DestroyComputeInstance(0, gi, ci).ok());
}

TEST(SimMachine, AmpereTogglesWithAResetAndKeepsTheModeOverReboot) {
  auto m = Machine("a100-80gb", false);
  ASSERT_TRUE(m->Attach(0, std::nullopt, std::nullopt, {77, "python", 100}).ok());
  auto change = m->SetMigMode(0, true);
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->activation.code(), Code::kInUse);
  EXPECT_EQ(change->mode, (MigMode{false, true}));
  EXPECT_FALSE(change->reset_done);
  ASSERT_TRUE(m->Reboot().ok());  // the reset at boot applies the pending mode
  EXPECT_EQ(m->GetGpu(0)->mig, (MigMode{true, true}));
  ASSERT_TRUE(m->SetMigMode(0, false).ok());
  EXPECT_EQ(m->State()->gpus[0].resets, 1);
  ASSERT_TRUE(m->SetMigMode(0, true)->reset_done);
}

TEST(SimMachine, HopperTogglesWithoutResetAndForgetsEverythingAtReboot) {
  auto m = Machine("h100-80gb", false);
  auto change = m->SetMigMode(0, true);
  ASSERT_TRUE(change.ok());
  EXPECT_TRUE(change->activation.ok());
  EXPECT_FALSE(change->reset_done);
  ASSERT_TRUE(m->CreateGpuInstance(0, 19, 0).ok());
  ASSERT_TRUE(m->Reboot().ok());
  auto g = m->GetGpu(0);
  EXPECT_EQ(g->mig, (MigMode{false, false}));
  EXPECT_TRUE(g->gpu_instances.empty());
}

TEST(SimMachine, AWorkstationInDisplayModeHasNoMigUntilSwitched) {
  auto s = NewState({Model("rtx-pro-6000")}, false, 42);
  ASSERT_TRUE(s.ok());
  s->gpus[0].pci_device_id = 0x2BB110DE;
  s->gpus[0].display_mode = true;
  auto m = SimMachine::InMemory(*s);
  EXPECT_FALSE(m->GetGpu(0)->mig_capable);
  EXPECT_EQ(m->GetGpu(0)->name, "NVIDIA RTX PRO 6000 Blackwell Workstation Edition");
  auto r = m->SetMigMode(0, true);
  ASSERT_EQ(r.status().code(), Code::kNotSupported);
  EXPECT_NE(r.status().hint().find("displaymodeselector --gpumode compute"), std::string::npos);
  ASSERT_TRUE(m->Configure(0, {.display_mode = false}).ok());
  EXPECT_TRUE(m->GetGpu(0)->mig_capable);
  ASSERT_TRUE(m->SetMigMode(0, true).ok());
  Status back = m->Configure(0, {.display_mode = true});
  EXPECT_EQ(back.code(), Code::kInvalidArgument);
  EXPECT_NE(back.hint().find("carve mig disable -i 0"), std::string::npos);
  EXPECT_EQ(Machine("h100-80gb", false)->Configure(0, {.display_mode = true}).code(),
            Code::kInvalidArgument);
}

TEST(SimMachine, AnEccChangeWaitsForAResetOrAReboot) {
  auto m = Machine("h100-80gb", false, 2);
  ASSERT_TRUE(m->Configure(0, {.ecc = false}).ok());
  ASSERT_TRUE(m->Configure(1, {.ecc = false}).ok());
  EXPECT_EQ(m->GetGpu(0)->ecc, (EccMode{true, false}));
  ASSERT_TRUE(m->ResetGpu(0).ok());
  EXPECT_EQ(m->GetGpu(0)->ecc, (EccMode{false, false}));
  EXPECT_EQ(m->GetGpu(1)->ecc, (EccMode{true, false}));
  ASSERT_TRUE(m->Reboot().ok());
  EXPECT_EQ(m->GetGpu(1)->ecc, (EccMode{false, false}));
}

TEST(SimMachine, ConfigureSetsWhatDoctorReads) {
  auto m = Machine("h100-80gb", false);
  ASSERT_TRUE(
      m->Configure(0, {.persistence_mode = false, .mig_timeslicing = std::optional<bool>(true)})
          .ok());
  ASSERT_TRUE(m->Configure(std::nullopt, {.driver_version = "550.54.15"}).ok());
  EXPECT_FALSE(m->GetGpu(0)->persistence_mode);
  EXPECT_EQ(m->GetGpu(0)->mig_timeslicing, std::optional<bool>(true));
  EXPECT_EQ(m->Driver()->driver_version, "550.54.15");
  EXPECT_EQ(m->Configure(std::nullopt, {.driver_version = "latest"}).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(m->Driver()->driver_version, "550.54.15");
}

TEST(SimMachine, DisablingMigNeedsTheInstancesGone) {
  auto m = Machine("h100-80gb", true);
  ASSERT_TRUE(m->CreateGpuInstance(0, 19, 0).ok());
  EXPECT_EQ(m->SetMigMode(0, false).status().code(), Code::kInUse);
}

TEST(SimMachine, DriverChoosesTheHighestFreeStartLikeNvidiaSmi) {
  auto m = Machine("h100-80gb", true);
  for (int id : {19, 19, 14}) ASSERT_TRUE(m->CreateGpuInstance(0, id, std::nullopt).ok());
  auto r = m->CreateGpuInstance(0, 9, std::nullopt);
  EXPECT_EQ(r.status().code(), Code::kInsufficientResources);
}

TEST(SimMachine, InjectedFaultFiresOnceOnTheNthDriverCallAndChangesNothing) {
  auto m = Machine("h100-80gb", true);
  ASSERT_TRUE(m->SetFault(2, Code::kInUse).ok());
  ASSERT_TRUE(m->CreateGpuInstance(0, 19, 0).ok());
  auto failed = m->CreateGpuInstance(0, 19, 1);
  EXPECT_EQ(failed.status().code(), Code::kInUse);
  EXPECT_EQ(m->GetGpu(0)->gpu_instances.size(), 1u);
  EXPECT_TRUE(m->CreateGpuInstance(0, 19, 1).ok());
}

// Issue #12.20: a second --after silently replaced the pending fault.
TEST(SimMachine, OneFaultAtATimeTheSecondIsRefusedAndNamesTheFirst) {
  auto m = Machine("h100-80gb", true);
  ASSERT_TRUE(m->SetFault(3, Code::kInUse).ok());
  Status again = m->SetFault(1, Code::kTimeout);
  EXPECT_EQ(again.code(), Code::kAlreadyExists);
  EXPECT_NE(again.message().find("#3"), std::string::npos) << again.ToString();
  EXPECT_NE(again.message().find("in_use"), std::string::npos) << again.ToString();
  EXPECT_EQ(m->State()->faults.fail_after, 3);       // the first stays
  ASSERT_TRUE(m->SetFault(0, Code::kUnknown).ok());  // --clear
  EXPECT_TRUE(m->SetFault(1, Code::kTimeout).ok());
}

TEST(SimMachine, EveryMutatingCallCanFailAndLeavesTheStateAlone) {
  using Op = std::function<Status(SimMachine&, int gi)>;
  std::vector<std::pair<std::string, Op>> ops = {
      {"set mode", [](SimMachine& m, int) { return m.SetMigMode(0, true).status(); }},
      {"reset", [](SimMachine& m, int) { return m.ResetGpu(0); }},
      {"create gi", [](SimMachine& m, int) { return m.CreateGpuInstance(0, 19, 6).status(); }},
      {"destroy gi", [](SimMachine& m, int) { return m.DestroyGpuInstance(0, 7); }},
      {"create ci",
       [](SimMachine& m, int gi) {
         return m.CreateComputeInstance(0, gi, 0, std::nullopt).status();
       }},
      {"destroy ci", [](SimMachine& m, int gi) { return m.DestroyComputeInstance(0, gi, 0); }},
  };
  for (const auto& [name, op] : ops) {
    auto m = Machine("h100-80gb", true);
    ASSERT_TRUE(m->CreateGpuInstance(0, 19, 0).ok());  // GI 7, empty
    int gi = m->CreateGpuInstance(0, 14, 2)->id;
    ASSERT_TRUE(m->CreateComputeInstance(0, gi, 0, std::nullopt).ok());
    auto before = m->GetGpu(0);
    ASSERT_TRUE(m->SetFault(1, Code::kUnknown).ok());
    EXPECT_EQ(op(*m, gi).code(), Code::kUnknown) << name;
    auto after = m->GetGpu(0);
    EXPECT_EQ(after->gpu_instances.size(), before->gpu_instances.size()) << name;
    EXPECT_EQ(after->gpu_instances[1].compute_instances.size(), 1u) << name;
    EXPECT_EQ(after->mig, before->mig) << name;
    EXPECT_TRUE(op(*m, gi).ok()) << name << ": fires once";
  }
}

class SimFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("carve-sim-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "machine.json").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(SimFileTest, StateIsSharedAcrossOpens) {
  ASSERT_TRUE(CreateStateFile(path_, *NewState({Model("h100-80gb")}, true, 3), false).ok());
  EXPECT_EQ(CreateStateFile(path_, *NewState({Model("h100-80gb")}, true, 3), false).code(),
            Code::kAlreadyExists);
  auto a = SimMachine::Open(path_);
  auto b = SimMachine::Open(path_);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->CreateGpuInstance(0, 9, 0).ok());
  EXPECT_EQ((*b)->GetGpu(0)->gpu_instances.size(), 1u);
  EXPECT_EQ(SimMachine::Open((dir_ / "none.json").string()).status().code(), Code::kNotFound);
}

TEST_F(SimFileTest, ConcurrentCreatesNeverCorruptTheState) {
  ASSERT_TRUE(CreateStateFile(path_, *NewState({Model("h100-80gb")}, true, 3), false).ok());
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      auto m = SimMachine::Open(path_);
      ASSERT_TRUE(m.ok());
      for (int i = 0; i < 4; ++i) created += (*m)->CreateGpuInstance(0, 19, std::nullopt).ok();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 7);  // exactly seven 1g slices fit
  auto g = (*SimMachine::Open(path_))->GetGpu(0);
  EXPECT_EQ(g->gpu_instances.size(), 7u);
}

TEST_F(SimFileTest, TrackedProcessesAreForgottenWhenTheyExit) {
  ASSERT_TRUE(CreateStateFile(path_, *NewState({Model("h100-80gb")}, false, 3), false).ok());
  auto m = std::move(SimMachine::Open(path_).value());
  pid_t child = ::fork();
  if (child == 0) _exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(m->Attach(0, std::nullopt, std::nullopt,
                        {static_cast<uint32_t>(child), "gone", 1, -1, -1, true})
                  .ok());
  ASSERT_TRUE(m->Attach(0, std::nullopt, std::nullopt,
                        {static_cast<uint32_t>(::getpid()), "me", 1, -1, -1, true})
                  .ok());
  auto g = m->GetGpu(0);
  ASSERT_EQ(g->processes.size(), 1u);
  EXPECT_EQ(g->processes[0].name, "me");
}

TEST(SimMachine, NewStateFromListCountsAndAppliesTheNamedProduct) {
  const char* workstation = "NVIDIA RTX PRO 6000 Blackwell Workstation Edition";
  auto s = NewStateFromList({"h100-80gb:2", workstation}, true, 7);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->gpus.size(), 3u);
  EXPECT_EQ(s->gpus[0].model, "h100-80gb");
  EXPECT_EQ(s->gpus[1].model, "h100-80gb");
  EXPECT_TRUE(s->gpus[0].mig.current);
  const auto* product = mig::Catalog::Builtin().FindProduct(workstation);
  ASSERT_NE(product, nullptr);
  EXPECT_EQ(s->gpus[2].pci_device_id, product->pci_device_id);
  EXPECT_TRUE(s->gpus[2].display_mode);  // as it ships: MIG unavailable until changed
  EXPECT_FALSE(s->gpus[2].mig.current);
  EXPECT_EQ(NewStateFromList({"h100-80gb:0"}, false, 7).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewStateFromList({"h100-80gb:2x"}, false, 7).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(NewStateFromList({"h100-80gb:65"}, false, 7).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(NewStateFromList({"no-such-gpu"}, false, 7).ok());
}

}  // namespace
}  // namespace carve::device::sim
