// NvmlMachine through the drop-in against SimMachine on the same state file:
// the two backends must report the same machine, field by field, and explain
// the same refusals in the same words.
#include "device/nvml/nvml_machine.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <set>

#include "device/refusals.h"
#include "device/sim/sim_machine.h"

namespace carve::device::nvml {
namespace {

std::string Dump(const Gpu& g) {
  std::string s = fmt::format(
      "GPU {} {} {} {} {:08x} {} model={} arch={} mem={}/{} pm={} mig={}:{}{}\n", g.index, g.uuid,
      g.name, g.pci_bus_id, g.pci_device_id, g.serial, g.model ? g.model->alias : "none",
      mig::ArchName(g.arch), g.memory_used_mib, g.memory_total_mib, g.persistence_mode,
      g.mig_capable, g.mig.current, g.mig.pending);
  for (const auto& gi : g.gpu_instances) {
    s +=
        fmt::format(" GI {} {} {} {}:{} mem={}/{}\n", gi.id, gi.profile_id, gi.profile,
                    gi.placement.start, gi.placement.size, gi.memory_used_mib, gi.memory_total_mib);
    for (const auto& ci : gi.compute_instances)
      s += fmt::format("  CI {} {} {} slices={} {}:{} {} sm={}\n", ci.id, ci.profile_id, ci.profile,
                       ci.slices, ci.placement.start, ci.placement.size, ci.uuid, ci.sm);
  }
  for (const auto& p : g.processes)
    s += fmt::format(" process {} {} {} gi={} ci={}\n", p.pid, p.name, p.memory_mib, p.gi, p.ci);
  for (const auto& n : g.notes) s += " note " + n + "\n";
  return s;
}

std::string Dump(const Status& st) {
  return fmt::format("{} | {} | {}", CodeName(st.code()), st.message(), st.hint());
}

class NvmlVsSim : public ::testing::Test {
 protected:
  void Open(const std::vector<std::string>& aliases, bool mig_on) {
    std::vector<const mig::GpuModel*> models;
    for (const auto& a : aliases) models.push_back(mig::Catalog::Builtin().Find(a));
    path_ = ::testing::TempDir() + "/nvml-vs-sim-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json";
    auto state = sim::NewState(models, mig_on, 23);
    ASSERT_TRUE(state.ok());
    ASSERT_TRUE(sim::CreateStateFile(path_, *state, true).ok());
    ::setenv("CARVE_SIM", path_.c_str(), 1);
    auto s = sim::SimMachine::Open(path_);
    ASSERT_TRUE(s.ok());
    sim_ = std::move(s).value();
    auto n = NvmlMachine::Open(CARVE_NVML_SHIM);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    nvml_ = std::move(n).value();
  }
  void ExpectSameMachine() {
    auto a = sim_->Gpus();
    auto b = nvml_->Gpus();
    ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
    ASSERT_EQ(a->size(), b->size());
    for (size_t i = 0; i < a->size(); ++i) {
      EXPECT_EQ(Dump((*a)[i]), Dump((*b)[i]));
      EXPECT_EQ((*a)[i].model, (*b)[i].model) << "the catalogue's own model when NVML agrees";
    }
  }
  // Runs a refused call on both backends (a refusal changes nothing).
  template <typename Fn>
  void ExpectSameRefusal(Fn call) {
    Status a = call(static_cast<Machine&>(*sim_));
    Status b = call(static_cast<Machine&>(*nvml_));
    EXPECT_FALSE(a.ok());
    EXPECT_EQ(Dump(a), Dump(b));
  }

  std::string path_;
  std::unique_ptr<sim::SimMachine> sim_;
  std::unique_ptr<NvmlMachine> nvml_;
};

TEST_F(NvmlVsSim, SameMachineFieldByField) {
  Open({"h100-80gb", "a100-40gb", "l40s", "a30"}, true);
  ASSERT_TRUE(sim_->CreateGpuInstance(0, 9, 4).ok());
  ASSERT_TRUE(sim_->CreateGpuInstance(0, 14, 0).ok());
  ASSERT_TRUE(sim_->CreateGpuInstance(0, 19, 2).ok());
  for (int start : {2, 0, 1}) ASSERT_TRUE(sim_->CreateComputeInstance(0, 2, 0, start).ok());
  ASSERT_TRUE(sim_->CreateComputeInstance(0, 3, 1, std::nullopt).ok());
  ASSERT_TRUE(sim_->Attach(0, 2, 1, {4121, "vllm", 20000, -1, -1, false}).ok());
  ASSERT_TRUE(sim_->Attach(0, 3, std::nullopt, {4122, "llama", 3000, -1, -1, false}).ok());
  ASSERT_TRUE(sim_->CreateGpuInstance(1, 0, std::nullopt).ok());
  ASSERT_TRUE(sim_->CreateComputeInstance(1, 0, 4, std::nullopt).ok());
  ASSERT_TRUE(
      sim_->Attach(2, std::nullopt, std::nullopt, {5000, "render", 1000, -1, -1, false}).ok());
  ExpectSameMachine();
  ASSERT_TRUE(nvml_->DestroyComputeInstance(0, 2, 0).ok());
  ASSERT_TRUE(nvml_->CreateComputeInstance(0, 2, 0, std::nullopt).ok());  // takes id 0 again, at 0
  ExpectSameMachine();
}

TEST_F(NvmlVsSim, CreatesReturnWhatTheSimulatorWouldList) {
  Open({"h100-80gb"}, true);
  auto gi = nvml_->CreateGpuInstance(0, 9, std::nullopt);
  ASSERT_TRUE(gi.ok()) << gi.status().ToString();
  auto ci = nvml_->CreateComputeInstance(0, gi->id, 1, std::nullopt);
  ASSERT_TRUE(ci.ok()) << ci.status().ToString();
  auto g = sim_->GetGpu(0);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->gpu_instances.size(), 1u);
  const auto& listed = g->gpu_instances[0];
  EXPECT_EQ(gi->id, listed.id);
  EXPECT_EQ(gi->placement, listed.placement);
  EXPECT_EQ(gi->profile, listed.profile);
  EXPECT_EQ(ci->uuid, listed.compute_instances.at(0).uuid);
  EXPECT_EQ(ci->profile, "2c.3g.40gb");
  EXPECT_EQ(ci->sm, listed.compute_instances[0].sm);
}

TEST_F(NvmlVsSim, RefusalsReadTheSame) {
  Open({"h100-80gb", "h100-80gb"}, true);
  ASSERT_TRUE(sim_->CreateGpuInstance(0, 9, 0).ok());
  ASSERT_TRUE(sim_->CreateGpuInstance(0, 9, 4).ok());
  ASSERT_TRUE(sim_->CreateComputeInstance(0, 2, 0, std::nullopt).ok());
  ASSERT_TRUE(sim_->CreateComputeInstance(0, 1, 2, std::nullopt).ok());
  ASSERT_TRUE(sim_->Attach(0, 2, std::nullopt, {4121, "vllm", 39117, -1, -1, false}).ok());
  ExpectSameRefusal([](Machine& m) { return m.CreateGpuInstance(0, 19, std::nullopt).status(); });
  ExpectSameRefusal([](Machine& m) { return m.CreateGpuInstance(0, 19, 3).status(); });
  ExpectSameRefusal([](Machine& m) { return m.CreateGpuInstance(0, 4242, std::nullopt).status(); });
  ExpectSameRefusal(
      [](Machine& m) { return m.CreateComputeInstance(0, 1, 0, std::nullopt).status(); });
  ExpectSameRefusal(
      [](Machine& m) { return m.CreateComputeInstance(0, 2, 2, std::nullopt).status(); });
  ExpectSameRefusal([](Machine& m) { return m.CreateComputeInstance(0, 2, 0, 0).status(); });
  ExpectSameRefusal([](Machine& m) { return m.DestroyGpuInstance(0, 1); });
  ExpectSameRefusal([](Machine& m) { return m.DestroyGpuInstance(0, 5); });
  ExpectSameRefusal([](Machine& m) { return m.DestroyComputeInstance(0, 2, 0); });
  ExpectSameRefusal([](Machine& m) { return m.DestroyComputeInstance(0, 2, 3); });
  ExpectSameRefusal([](Machine& m) { return m.SetMigMode(0, false).status(); });
  ExpectSameRefusal([](Machine& m) { return m.GetGpu(9).status(); });
  ExpectSameRefusal([](Machine& m) { return m.StopProcess(1, 4121, 10); });
  ExpectSameMachine();
}

// Every kind of refusal in the shared table (device/refusals.h), each one
// reached on both backends: the same code and the same words.
TEST_F(NvmlVsSim, EveryRefusalKindReadsTheSameOnBothBackends) {
  Open({"h100-80gb", "h100-80gb", "l40s"}, true);
  ASSERT_TRUE(sim_->CreateGpuInstance(0, 9, 0).ok());
  ASSERT_TRUE(sim_->CreateGpuInstance(0, 9, 4).ok());
  ASSERT_TRUE(sim_->CreateComputeInstance(0, 2, 0, std::nullopt).ok());
  ASSERT_TRUE(sim_->CreateComputeInstance(0, 1, 2, std::nullopt).ok());
  ASSERT_TRUE(sim_->Attach(0, 2, std::nullopt, {4121, "vllm", 39117, -1, -1, false}).ok());
  ASSERT_TRUE(sim_->SetMigMode(1, false).ok());  // MIG off on GPU 1, nothing pending
  using Call = std::function<Status(Machine&)>;
  struct Case {
    Refusal kind;
    Call call;
  };
  const Case cases[] = {
      {Refusal::kNoGpu, [](Machine& m) { return m.GetGpu(9).status(); }},
      {Refusal::kNoMig, [](Machine& m) { return m.SetMigMode(2, true).status(); }},
      {Refusal::kNoMig, [](Machine& m) { return m.CreateGpuInstance(2, 19, 0).status(); }},
      {Refusal::kMigOff, [](Machine& m) { return m.CreateGpuInstance(1, 19, 0).status(); }},
      {Refusal::kNoGpuInstanceProfile,
       [](Machine& m) { return m.CreateGpuInstance(0, 4242, std::nullopt).status(); }},
      {Refusal::kNoComputeInstanceProfile,
       [](Machine& m) { return m.CreateComputeInstance(0, 2, 99, std::nullopt).status(); }},
      {Refusal::kNoGpuInstance, [](Machine& m) { return m.DestroyGpuInstance(0, 5); }},
      {Refusal::kNoComputeInstance, [](Machine& m) { return m.DestroyComputeInstance(0, 2, 3); }},
      {Refusal::kNoProcess, [](Machine& m) { return m.StopProcess(0, 999999, 10); }},
      {Refusal::kNoRoomForGpuInstance,
       [](Machine& m) { return m.CreateGpuInstance(0, 19, std::nullopt).status(); }},
      {Refusal::kComputeInstanceLimit,
       [](Machine& m) { return m.CreateComputeInstance(0, 1, 2, std::nullopt).status(); }},
      {Refusal::kNoRoomForComputeInstance,
       [](Machine& m) { return m.CreateComputeInstance(0, 1, 0, std::nullopt).status(); }},
      {Refusal::kGpuInstanceHasComputeInstances,
       [](Machine& m) { return m.DestroyGpuInstance(0, 1); }},
      {Refusal::kComputeInstanceInUse,
       [](Machine& m) { return m.DestroyComputeInstance(0, 2, 0); }},
      {Refusal::kGpuHasGpuInstances, [](Machine& m) { return m.SetMigMode(0, false).status(); }},
  };
  std::set<Refusal> seen;
  for (const Case& c : cases) {
    Status a = c.call(*sim_);
    Status b = c.call(*nvml_);
    EXPECT_EQ(Dump(a), Dump(b));
    EXPECT_EQ(a.code(), Refuse(c.kind, {}).code()) << Dump(a);
    seen.insert(c.kind);
  }
  // Turning MIG on under a process: pending on both, then instance calls say so.
  ASSERT_TRUE(sim_->Attach(1, std::nullopt, std::nullopt, {5150, "x", 10, -1, -1, false}).ok());
  auto a = sim_->SetMigMode(1, true);
  auto b = nvml_->SetMigMode(1, true);
  ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
  EXPECT_EQ(Dump(a->activation), Dump(b->activation));
  EXPECT_EQ(a->activation.code(), Code::kInUse);
  seen.insert(Refusal::kModeChangeInUse);
  ExpectSameRefusal([](Machine& m) { return m.CreateGpuInstance(1, 19, 0).status(); });
  EXPECT_THAT(sim_->CreateGpuInstance(1, 19, 0).status().message(),
              ::testing::HasSubstr("enable is pending a GPU reset"));
  seen.insert(Refusal::kMigEnablePending);
  EXPECT_EQ(seen.size(), static_cast<size_t>(Refusal::kModeChangeInUse) + 1)
      << "a refusal kind no case reaches";
}

TEST_F(NvmlVsSim, ModeChangesReportTheSame) {
  Open({"a100-80gb", "a100-80gb", "h100-80gb", "h100-80gb"}, false);
  for (int gpu : {2, 3})
    ASSERT_TRUE(sim_->Attach(gpu, std::nullopt, std::nullopt,
                             {static_cast<uint32_t>(7000 + gpu), "x", 10, -1, -1, false})
                    .ok());
  ExpectSameRefusal([](Machine& m) { return m.CreateGpuInstance(0, 19, std::nullopt).status(); });
  auto a = sim_->SetMigMode(0, true);
  auto b = nvml_->SetMigMode(1, true);
  ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->reset_done);  // Ampere resets to apply
  EXPECT_EQ(a->reset_done, b->reset_done);
  EXPECT_EQ(a->mode, b->mode);
  auto c = sim_->SetMigMode(2, true);
  auto d = nvml_->SetMigMode(3, true);
  ASSERT_TRUE(c.ok() && d.ok());
  EXPECT_EQ(d->activation.code(), Code::kInUse);  // a process holds it: pending
  std::string expected = Dump(c->activation);
  for (auto [from, to] : {std::pair{"GPU 2", "GPU 3"}, {"-i 2", "-i 3"}, {"7002", "7003"}})
    for (size_t at; (at = expected.find(from)) != std::string::npos;)
      expected.replace(at, std::string_view(from).size(), to);
  EXPECT_EQ(expected, Dump(d->activation));
  EXPECT_EQ(c->mode, d->mode);
  ExpectSameRefusal([](Machine& m) { return m.CreateGpuInstance(2, 19, std::nullopt).status(); });
}

TEST_F(NvmlVsSim, StopsSimulatedProcessesThroughTheSimulator) {
  Open({"h100-80gb"}, true);
  ASSERT_TRUE(sim_->CreateGpuInstance(0, 0, std::nullopt).ok());
  ASSERT_TRUE(sim_->CreateComputeInstance(0, 0, 4, std::nullopt).ok());
  // A made-up pid: the drop-in must not signal a host process of that number.
  ASSERT_TRUE(sim_->Attach(0, 0, std::nullopt, {999999, "ghost", 10, -1, -1, false}).ok());
  ASSERT_TRUE(nvml_->StopProcess(0, 999999, 100).ok());
  auto g = sim_->GetGpu(0);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->processes.empty());
}

TEST_F(NvmlVsSim, DriverAndLockAreTheSimulators) {
  Open({"h100-80gb"}, false);
  EXPECT_TRUE(nvml_->simulated());
  EXPECT_EQ(nvml_->ChangeLockPath(), sim_->ChangeLockPath());
  auto a = sim_->Driver();
  auto b = nvml_->Driver();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(b->backend, "nvml");
  EXPECT_EQ(a->driver_version, b->driver_version);
  EXPECT_EQ(a->nvml_version, b->nvml_version);
  EXPECT_EQ(a->cuda_version, b->cuda_version);
  auto count = nvml_->DeviceCount();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1);
}

TEST(NvmlMachine, MissingLibraryIsUnavailableWithTheFix) {
  auto m = NvmlMachine::Open("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kUnavailable);
  EXPECT_NE(m.status().hint().find("LD_LIBRARY_PATH"), std::string::npos);
}

}  // namespace
}  // namespace carve::device::nvml
