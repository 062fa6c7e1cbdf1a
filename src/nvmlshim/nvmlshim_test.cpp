// The drop-in as an NVML client sees it: loaded with dlopen from the build
// tree, over simulated machines written by the test. Profile tables must equal
// carve's catalogue for every GPU, and refusals must carry NVML's codes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "device/nvml/nvml_library.h"
#include "device/sim/sim_machine.h"
#include "mig/layout.h"

namespace carve::nvmlshim {
namespace {

using device::nvml::NvmlLibrary;

class DropIn : public ::testing::Test {
 protected:
  void Open(const std::vector<std::string>& aliases, bool mig_on) {
    lib_.reset();
    std::vector<const mig::GpuModel*> models;
    for (const auto& a : aliases) models.push_back(mig::Catalog::Builtin().Find(a));
    path_ = ::testing::TempDir() + "/dropin-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json";
    auto state = device::sim::NewState(models, mig_on, 11);
    ASSERT_TRUE(state.ok());
    ASSERT_TRUE(device::sim::CreateStateFile(path_, *state, true).ok());
    ::setenv("CARVE_SIM", path_.c_str(), 1);
    auto lib = NvmlLibrary::Load(CARVE_NVML_SHIM);
    ASSERT_TRUE(lib.ok()) << lib.status().ToString();
    lib_ = std::move(lib).value();
    auto sim = device::sim::SimMachine::Open(path_);
    ASSERT_TRUE(sim.ok());
    sim_ = std::move(sim).value();
  }
  const device::nvml::NvmlFunctions& f() { return lib_->fn(); }
  nvmlDevice_t Device(unsigned i) {
    nvmlDevice_t d = nullptr;
    EXPECT_EQ(f().nvmlDeviceGetHandleByIndex_v2(i, &d), NVML_SUCCESS);
    return d;
  }
  nvmlGpuInstance_t CreateGi(nvmlDevice_t d, unsigned id) {
    nvmlGpuInstance_t gi = nullptr;
    EXPECT_EQ(f().nvmlDeviceCreateGpuInstance(d, id, &gi), NVML_SUCCESS) << "profile id " << id;
    return gi;
  }

  std::string path_;
  std::unique_ptr<NvmlLibrary> lib_;
  std::unique_ptr<device::sim::SimMachine> sim_;
};

std::vector<mig::Placement> GiPlacements(const device::nvml::NvmlFunctions& f, nvmlDevice_t d,
                                         int id) {
  unsigned n = 0;
  EXPECT_EQ(f.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, id, nullptr, &n), NVML_SUCCESS);
  std::vector<nvmlGpuInstancePlacement_t> raw(n);
  EXPECT_EQ(f.nvmlDeviceGetGpuInstancePossiblePlacements_v2(d, id, raw.data(), &n), NVML_SUCCESS);
  std::vector<mig::Placement> out;
  for (auto p : raw) out.push_back({static_cast<int>(p.start), static_cast<int>(p.size)});
  return out;
}

void ExpectGiProfile(const mig::Profile& p, const nvmlGpuInstanceProfileInfo_v3_t& i) {
  EXPECT_EQ(i.id, static_cast<unsigned>(p.id));
  EXPECT_EQ(std::string(i.name), "MIG " + p.name);
  EXPECT_EQ(i.memorySizeMB, p.memory_mib);
  EXPECT_EQ(i.multiprocessorCount, static_cast<unsigned>(p.sm));
  EXPECT_EQ(i.sliceCount, static_cast<unsigned>(p.slices));
  EXPECT_EQ(i.instanceCount, static_cast<unsigned>(p.max_instances));
  EXPECT_EQ(i.copyEngineCount, static_cast<unsigned>(p.engines.ce));
  EXPECT_EQ(i.decoderCount, static_cast<unsigned>(p.engines.dec));
  EXPECT_EQ(i.encoderCount, static_cast<unsigned>(p.engines.enc));
  EXPECT_EQ(i.jpegCount, static_cast<unsigned>(p.engines.jpeg));
  EXPECT_EQ(i.ofaCount, static_cast<unsigned>(p.engines.ofa));
}

// Compute-instance profiles of GPU instance `gi` (of profile `p`) against the catalogue.
void ExpectCiProfiles(const device::nvml::NvmlFunctions& f, const mig::GpuModel& m,
                      const mig::Profile& p, nvmlGpuInstance_t gi) {
  const auto& cps = m.ComputeProfilesFor(p);
  for (unsigned idx = 0; idx < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; ++idx) {
    nvmlComputeInstanceProfileInfo_v2_t i{};
    i.version = nvmlComputeInstanceProfileInfo_v2;
    int rc = f.nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, idx, 0, &i);
    auto cp = std::find_if(cps.begin(), cps.end(),
                           [&](auto& c) { return c.nvml_profile == static_cast<int>(idx); });
    if (cp == cps.end()) {
      EXPECT_EQ(rc, NVML_ERROR_NOT_SUPPORTED) << m.alias << " " << p.name << " CI index " << idx;
      continue;
    }
    ASSERT_EQ(rc, NVML_SUCCESS) << m.alias << " " << p.name << " CI index " << idx;
    EXPECT_EQ(i.id, static_cast<unsigned>(cp->id));
    EXPECT_EQ(std::string(i.name), "MIG " + cp->NameIn(p));
    EXPECT_EQ(i.sliceCount, static_cast<unsigned>(cp->slices));
    EXPECT_EQ(i.instanceCount, static_cast<unsigned>(cp->max_instances));
    EXPECT_EQ(i.multiprocessorCount, static_cast<unsigned>(cp->is_default ? p.sm : cp->sm));
    unsigned n = 0;
    EXPECT_EQ(f.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, cp->id, nullptr, &n),
              NVML_SUCCESS);
    std::vector<nvmlComputeInstancePlacement_t> raw(n);
    EXPECT_EQ(f.nvmlGpuInstanceGetComputeInstancePossiblePlacements(gi, cp->id, raw.data(), &n),
              NVML_SUCCESS);
    ASSERT_EQ(n, cp->placements.size());
    for (unsigned k = 0; k < n; ++k)
      EXPECT_EQ((mig::Placement{static_cast<int>(raw[k].start), static_cast<int>(raw[k].size)}),
                cp->placements[k]);
  }
}

TEST_F(DropIn, ProfileTablesEqualTheCatalogueForEveryGpu) {
  int checked = 0;
  for (const auto& m : mig::Catalog::Builtin().models()) {
    if (!m.mig) continue;
    SCOPED_TRACE(m.alias);
    Open({m.alias}, true);
    nvmlDevice_t d = Device(0);
    size_t seen = 0;
    for (unsigned idx = 0; idx < NVML_GPU_INSTANCE_PROFILE_COUNT; ++idx) {
      nvmlGpuInstanceProfileInfo_v3_t i{};
      i.version = nvmlGpuInstanceProfileInfo_v3;
      int rc = f().nvmlDeviceGetGpuInstanceProfileInfoV(
          d, idx, reinterpret_cast<nvmlGpuInstanceProfileInfo_v2_t*>(&i));
      const mig::Profile* p = m.FindProfileByNvml(static_cast<int>(idx));
      if (!p) {
        EXPECT_EQ(rc, NVML_ERROR_NOT_SUPPORTED) << "index " << idx;
        continue;
      }
      ASSERT_EQ(rc, NVML_SUCCESS) << p->name;
      ++seen;
      ExpectGiProfile(*p, i);
      EXPECT_EQ(GiPlacements(f(), d, p->id), p->placements) << p->name;
      unsigned remaining = 0;
      EXPECT_EQ(f().nvmlDeviceGetGpuInstanceRemainingCapacity(d, p->id, &remaining), NVML_SUCCESS);
      EXPECT_EQ(remaining, static_cast<unsigned>(mig::RemainingCapacity(m, {}, *p))) << p->name;
      nvmlGpuInstance_t gi = CreateGi(d, p->id);
      ExpectCiProfiles(f(), m, *p, gi);
      EXPECT_EQ(f().nvmlGpuInstanceDestroy(gi), NVML_SUCCESS);
    }
    EXPECT_EQ(seen, m.profiles.size());
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

TEST_F(DropIn, InUseWhileComputeInstancesOrProcessesRemain) {
  Open({"h100-80gb"}, true);
  nvmlDevice_t d = Device(0);
  nvmlGpuInstance_t gi = CreateGi(d, 9);
  nvmlComputeInstance_t ci = nullptr;
  ASSERT_EQ(f().nvmlGpuInstanceCreateComputeInstance(gi, 2, &ci), NVML_SUCCESS);
  EXPECT_EQ(f().nvmlGpuInstanceDestroy(gi), NVML_ERROR_IN_USE);
  nvmlGpuInstanceInfo_t info{};
  ASSERT_EQ(f().nvmlGpuInstanceGetInfo(gi, &info), NVML_SUCCESS);
  ASSERT_TRUE(
      sim_->Attach(0, static_cast<int>(info.id), std::nullopt, {777, "train", 512, -1, -1, false})
          .ok());
  EXPECT_EQ(f().nvmlComputeInstanceDestroy(ci), NVML_ERROR_IN_USE);
  nvmlReturn_t activation = NVML_SUCCESS;
  EXPECT_EQ(f().nvmlDeviceSetMigMode(d, 0, &activation),
            NVML_ERROR_IN_USE);  // GPU instances remain
  ASSERT_TRUE(sim_->Detach(777).ok());
  EXPECT_EQ(f().nvmlComputeInstanceDestroy(ci), NVML_SUCCESS);
  EXPECT_EQ(f().nvmlGpuInstanceDestroy(gi), NVML_SUCCESS);
}

TEST_F(DropIn, PendingModeReportsInUseActivation) {
  Open({"h100-80gb"}, false);
  ASSERT_TRUE(sim_->Attach(0, std::nullopt, std::nullopt, {778, "x", 100, -1, -1, false}).ok());
  nvmlReturn_t activation = NVML_SUCCESS;
  ASSERT_EQ(f().nvmlDeviceSetMigMode(Device(0), 1, &activation), NVML_SUCCESS);
  EXPECT_EQ(activation, NVML_ERROR_IN_USE);
  unsigned current = 9, pending = 9;
  ASSERT_EQ(f().nvmlDeviceGetMigMode(Device(0), &current, &pending), NVML_SUCCESS);
  EXPECT_EQ(current, 0u);
  EXPECT_EQ(pending, 1u);
  nvmlProcessInfo_t p[2];
  unsigned n = 2;
  ASSERT_EQ(f().nvmlDeviceGetComputeRunningProcesses_v3(Device(0), &n, p), NVML_SUCCESS);
  ASSERT_EQ(n, 1u);
  EXPECT_EQ(p[0].gpuInstanceId, 0xFFFFFFFFu);  // MIG off: no instance ids
}

TEST_F(DropIn, InsufficientResourcesWhenThereIsNoRoom) {
  Open({"h100-80gb"}, true);
  nvmlDevice_t d = Device(0);
  nvmlGpuInstance_t whole = CreateGi(d, 0);  // 7g.80gb takes every memory slice
  nvmlGpuInstance_t gi = nullptr;
  EXPECT_EQ(f().nvmlDeviceCreateGpuInstance(d, 19, &gi), NVML_ERROR_INSUFFICIENT_RESOURCES);
  nvmlGpuInstancePlacement_t at3{3, 1};
  EXPECT_EQ(f().nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &at3, &gi),
            NVML_ERROR_INSUFFICIENT_RESOURCES);
  nvmlComputeInstance_t ci = nullptr;
  ASSERT_EQ(f().nvmlGpuInstanceCreateComputeInstance(whole, 4, &ci),
            NVML_SUCCESS);  // 7c: all of it
  EXPECT_EQ(f().nvmlGpuInstanceCreateComputeInstance(whole, 0, &ci),
            NVML_ERROR_INSUFFICIENT_RESOURCES);
  unsigned left = 9;
  EXPECT_EQ(f().nvmlGpuInstanceGetComputeInstanceRemainingCapacity(whole, 0, &left), NVML_SUCCESS);
  EXPECT_EQ(left, 0u);
}

TEST_F(DropIn, NotSupportedWhenMigIsOffOrTheProfileIsMissing) {
  Open({"h100-80gb", "l40s"}, false);
  nvmlDevice_t h100 = Device(0), l40s = Device(1);
  nvmlGpuInstance_t gi = nullptr;
  EXPECT_EQ(f().nvmlDeviceCreateGpuInstance(h100, 19, &gi), NVML_ERROR_NOT_SUPPORTED);
  unsigned count = 0, current = 0, pending = 0;
  EXPECT_EQ(f().nvmlDeviceGetGpuInstanceRemainingCapacity(h100, 19, &count),
            NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(f().nvmlDeviceGetMigMode(l40s, &current, &pending), NVML_ERROR_NOT_SUPPORTED);
  nvmlGpuInstanceProfileInfo_t v1{};
  EXPECT_EQ(f().nvmlDeviceGetGpuInstanceProfileInfo(l40s, 0, &v1), NVML_ERROR_NOT_SUPPORTED);
  nvmlReturn_t activation = NVML_SUCCESS;
  EXPECT_EQ(f().nvmlDeviceSetMigMode(l40s, 1, &activation), NVML_ERROR_NOT_SUPPORTED);
  ASSERT_EQ(f().nvmlDeviceSetMigMode(h100, 1, &activation), NVML_SUCCESS);
  ASSERT_EQ(activation, NVML_SUCCESS);
  EXPECT_EQ(f().nvmlDeviceCreateGpuInstance(h100, 21 /* an A30 id */, &gi),
            NVML_ERROR_NOT_SUPPORTED);
  nvmlGpuInstanceProfileInfo_v2_t v2{};
  v2.version = nvmlGpuInstanceProfileInfo_v2;
  EXPECT_EQ(f().nvmlDeviceGetGpuInstanceProfileInfoV(h100, 0x5 /* 8_SLICE */, &v2),
            NVML_ERROR_NOT_SUPPORTED);
}

// Issue #13.10: a Workstation edition in display mode answers as the driver
// does there (no MIG), under its own name and PCI id; compute mode brings MIG.
TEST_F(DropIn, AWorkstationInDisplayModeReportsNoMig) {
  Open({"rtx-pro-6000"}, false);
  ASSERT_TRUE(device::sim::WithStateFile(path_, [](device::sim::SimState& s, bool* write) {
                s.gpus[0].pci_device_id = 0x2BB110DE;
                s.gpus[0].display_mode = true;
                *write = true;
                return Status::Ok();
              }).ok());
  nvmlDevice_t d = Device(0);
  unsigned current = 0, pending = 0;
  EXPECT_EQ(f().nvmlDeviceGetMigMode(d, &current, &pending), NVML_ERROR_NOT_SUPPORTED);
  char name[96] = {};
  ASSERT_EQ(f().nvmlDeviceGetName(d, name, sizeof name), NVML_SUCCESS);
  EXPECT_STREQ(name, "NVIDIA RTX PRO 6000 Blackwell Workstation Edition");
  nvmlPciInfo_t pci{};
  ASSERT_EQ(f().nvmlDeviceGetPciInfo_v3(d, &pci), NVML_SUCCESS);
  EXPECT_EQ(pci.pciDeviceId, 0x2BB110DEu);
  ASSERT_TRUE(sim_->Configure(0, {.display_mode = false}).ok());
  EXPECT_EQ(f().nvmlDeviceGetMigMode(d, &current, &pending), NVML_SUCCESS);
}

TEST_F(DropIn, InvalidArgumentOnBadVersionsAndRanges) {
  Open({"h100-80gb"}, true);
  nvmlDevice_t d = Device(0), none = nullptr;
  nvmlGpuInstanceProfileInfo_v2_t v2{};
  for (unsigned version : {0u, 1u, 0x01000098u, 0x02000088u, 0x04000098u}) {
    v2.version = version;
    EXPECT_EQ(f().nvmlDeviceGetGpuInstanceProfileInfoV(d, 0, &v2), NVML_ERROR_INVALID_ARGUMENT)
        << version;
  }
  v2.version = nvmlGpuInstanceProfileInfo_v2;
  EXPECT_EQ(f().nvmlDeviceGetGpuInstanceProfileInfoV(d, 0x12, &v2), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(f().nvmlDeviceGetHandleByIndex_v2(1, &none), NVML_ERROR_INVALID_ARGUMENT);
  nvmlGpuInstance_t gi = nullptr;
  nvmlGpuInstancePlacement_t off_grid{1, 2}, past_end{8, 1};
  EXPECT_EQ(f().nvmlDeviceCreateGpuInstanceWithPlacement(d, 14, &off_grid, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(f().nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, &past_end, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(f().nvmlDeviceCreateGpuInstanceWithPlacement(d, 19, nullptr, &gi),
            NVML_ERROR_INVALID_ARGUMENT);
  gi = CreateGi(d, 9);
  nvmlComputeInstanceProfileInfo_v2_t ci{};
  ci.version = nvmlComputeInstanceProfileInfo_v3 - 4;  // right number, wrong size
  EXPECT_EQ(f().nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 0, 0, &ci),
            NVML_ERROR_INVALID_ARGUMENT);
  ci.version = nvmlComputeInstanceProfileInfo_v2;
  EXPECT_EQ(f().nvmlGpuInstanceGetComputeInstanceProfileInfoV(gi, 9, 0, &ci),
            NVML_ERROR_INVALID_ARGUMENT);
  nvmlComputeInstancePlacement_t bad{3, 1};
  nvmlComputeInstance_t c = nullptr;
  EXPECT_EQ(f().nvmlGpuInstanceCreateComputeInstanceWithPlacement(gi, 0, &bad, &c),
            NVML_ERROR_INVALID_ARGUMENT);
  nvmlDevice_t mig = nullptr;
  EXPECT_EQ(f().nvmlDeviceGetMigDeviceHandleByIndex(d, 7, &mig), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(f().nvmlDeviceGetMigDeviceHandleByIndex(d, 0, &mig),
            NVML_ERROR_NOT_FOUND);  // no CI yet
  nvmlReturn_t activation;
  EXPECT_EQ(f().nvmlDeviceSetMigMode(d, 7, &activation), NVML_ERROR_INVALID_ARGUMENT);
}

TEST_F(DropIn, SeparateProcessesSeeOneMachine) {
  Open({"a100-40gb"}, true);
  auto made = sim_->CreateGpuInstance(0, 9, 4);  // carve (here: the simulator) creates
  ASSERT_TRUE(made.ok());
  nvmlGpuInstance_t gi = nullptr;
  ASSERT_EQ(f().nvmlDeviceGetGpuInstanceById(Device(0), static_cast<unsigned>(made->id), &gi),
            NVML_SUCCESS);
  ASSERT_EQ(f().nvmlGpuInstanceDestroy(gi), NVML_SUCCESS);  // NVML destroys
  auto g = sim_->GetGpu(0);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->gpu_instances.empty());
}

// Xid events as an NVML monitor reads them: each failed GPU instance once
// per event set, a later failure on a later wait, nothing while healthy.
TEST_F(DropIn, XidEventsOnePerFailedInstancePerSet) {
  Open({"h100-80gb", "h100-80gb"}, true);
  int a = sim_->CreateGpuInstance(1, 19, 0)->id, b = sim_->CreateGpuInstance(1, 19, 1)->id;
  nvmlDevice_t d = Device(1);
  unsigned long long types = 0;
  ASSERT_EQ(f().nvmlDeviceGetSupportedEventTypes(d, &types), NVML_SUCCESS);
  EXPECT_TRUE(types & nvmlEventTypeXidCriticalError);
  nvmlEventSet_t set = nullptr;
  ASSERT_EQ(f().nvmlEventSetCreate(&set), NVML_SUCCESS);
  ASSERT_EQ(f().nvmlDeviceRegisterEvents(d, nvmlEventTypeXidCriticalError, set), NVML_SUCCESS);
  ASSERT_EQ(f().nvmlDeviceRegisterEvents(Device(0), nvmlEventTypeXidCriticalError, set),
            NVML_SUCCESS);
  nvmlEventData_t e{};
  EXPECT_EQ(f().nvmlEventSetWait_v2(set, &e, 0), NVML_ERROR_TIMEOUT);  // all healthy

  ASSERT_TRUE(sim_->FailGpuInstance(1, b, 94).ok());
  ASSERT_EQ(f().nvmlEventSetWait_v2(set, &e, 0), NVML_SUCCESS);
  EXPECT_EQ(e.device, d);
  EXPECT_EQ(e.eventType, nvmlEventTypeXidCriticalError);
  EXPECT_EQ(e.eventData, 94u);
  EXPECT_EQ(e.gpuInstanceId, static_cast<unsigned>(b));
  EXPECT_EQ(e.computeInstanceId, NVML_INSTANCE_ID_NONE);
  EXPECT_EQ(f().nvmlEventSetWait_v2(set, &e, 0), NVML_ERROR_TIMEOUT);  // delivered once

  ASSERT_TRUE(sim_->FailGpuInstance(1, a, 48).ok());  // a later failure: a later wait
  ASSERT_EQ(f().nvmlEventSetWait_v2(set, &e, 20), NVML_SUCCESS);
  EXPECT_EQ(e.eventData, 48u);
  EXPECT_EQ(e.gpuInstanceId, static_cast<unsigned>(a));
  EXPECT_EQ(f().nvmlEventSetWait_v2(set, &e, 0), NVML_ERROR_TIMEOUT);

  // Healed and failed again: a new event. Another set gets its own of each.
  ASSERT_TRUE(sim_->ClearFailures(1, b).ok());
  EXPECT_EQ(f().nvmlEventSetWait_v2(set, &e, 0), NVML_ERROR_TIMEOUT);
  ASSERT_TRUE(sim_->FailGpuInstance(1, b, 94).ok());
  ASSERT_EQ(f().nvmlEventSetWait_v2(set, &e, 0), NVML_SUCCESS);
  EXPECT_EQ(e.gpuInstanceId, static_cast<unsigned>(b));
  nvmlEventSet_t other = nullptr;
  ASSERT_EQ(f().nvmlEventSetCreate(&other), NVML_SUCCESS);
  ASSERT_EQ(f().nvmlDeviceRegisterEvents(d, nvmlEventTypeXidCriticalError, other), NVML_SUCCESS);
  int seen = 0;
  while (f().nvmlEventSetWait_v2(other, &e, 0) == NVML_SUCCESS) ++seen;
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(f().nvmlEventSetFree(other), NVML_SUCCESS);
  EXPECT_EQ(f().nvmlEventSetFree(set), NVML_SUCCESS);
  EXPECT_EQ(f().nvmlEventSetFree(set), NVML_ERROR_INVALID_ARGUMENT);  // freed already
}

TEST_F(DropIn, XidEventRefusals) {
  Open({"h100-80gb"}, true);
  int gi = sim_->CreateGpuInstance(0, 9, 0)->id;
  ASSERT_TRUE(sim_->CreateComputeInstance(0, gi, 2, std::nullopt).ok());
  nvmlEventSet_t set = nullptr;
  ASSERT_EQ(f().nvmlEventSetCreate(&set), NVML_SUCCESS);
  EXPECT_EQ(f().nvmlEventSetCreate(nullptr), NVML_ERROR_INVALID_ARGUMENT);
  // The simulator models Xid events only; NVML has no registration on MIG devices.
  EXPECT_EQ(f().nvmlDeviceRegisterEvents(Device(0), nvmlEventTypePState, set),
            NVML_ERROR_NOT_SUPPORTED);
  nvmlDevice_t mig = nullptr;
  ASSERT_EQ(f().nvmlDeviceGetMigDeviceHandleByIndex(Device(0), 0, &mig), NVML_SUCCESS);
  EXPECT_EQ(f().nvmlDeviceRegisterEvents(mig, nvmlEventTypeXidCriticalError, set),
            NVML_ERROR_NOT_SUPPORTED);
  EXPECT_EQ(f().nvmlDeviceRegisterEvents(Device(0), nvmlEventTypeXidCriticalError, nullptr),
            NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(f().nvmlEventSetWait_v2(set, nullptr, 0), NVML_ERROR_INVALID_ARGUMENT);
  // The first wait fills only the three fields its struct had.
  ASSERT_EQ(f().nvmlDeviceRegisterEvents(Device(0), nvmlEventTypeXidCriticalError, set),
            NVML_SUCCESS);
  ASSERT_TRUE(sim_->FailGpuInstance(0, gi, 95).ok());
  nvmlEventData_t e{};
  e.gpuInstanceId = 12345;
  ASSERT_EQ(f().nvmlEventSetWait(set, &e, 0), NVML_SUCCESS);
  EXPECT_EQ(e.eventData, 95u);
  EXPECT_EQ(e.gpuInstanceId, 12345u);
  EXPECT_EQ(f().nvmlEventSetFree(set), NVML_SUCCESS);
}

}  // namespace
}  // namespace carve::nvmlshim
