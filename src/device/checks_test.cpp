#include "device/checks.h"

#include <gtest/gtest.h>

namespace carve::device {
namespace {

Gpu H100() {
  Gpu g;
  g.index = 0;
  g.uuid = "GPU-0";
  g.model = mig::Catalog::Builtin().Find("h100-80gb");
  g.pci_device_id = g.model->products.front().pci_device_id;
  g.arch = mig::Arch::kHopper;
  g.mig_capable = true;
  g.persistence_mode = true;
  g.ecc = EccMode{};
  return g;
}

DriverInfo Driver(std::string v) { return {"sim", std::move(v), "", ""}; }

const Check* Find(const std::vector<Check>& rows, std::string_view name) {
  for (const auto& c : rows)
    if (c.name == name) return &c;
  return nullptr;
}

CheckStatus StatusOf(const Gpu& g, std::string_view name, std::string driver = "580.95.05") {
  auto rows = GpuChecks(Driver(driver), g);
  const Check* c = Find(rows, name);
  EXPECT_NE(c, nullptr) << name;
  return c ? c->status : CheckStatus::kUnknown;
}

TEST(Checks, NextStepTakesEachMigStateOneStepFurther) {
  Gpu g = H100();
  g.mig.current = g.mig.pending = false;
  EXPECT_EQ(NextStep(g).next, "carve mig enable -i 0");
  g.processes = {{4242, "python", 1024}};
  EXPECT_EQ(NextStep(g).next, "stop processes 4242, then: carve mig enable -i 0");
  g.mig.pending = true;  // enable asked, the processes hold it
  EXPECT_EQ(NextStep(g).state, "MIG enable is pending: processes 4242 hold the GPU");
  g.processes.clear();
  EXPECT_EQ(NextStep(g).next, "carve mig enable -i 0");
  g.mig.current = true;
  EXPECT_EQ(NextStep(g).state, "MIG on, no slices yet");
  g.gpu_instances.emplace_back();
  EXPECT_EQ(NextStep(g).next, "carve mig list -i 0");
  g.mig_capable = false;  // a MIG kind that reports no MIG: the display mode
  EXPECT_EQ(NextStep(g).state, "MIG unavailable: see the display mode check");
  g.model = nullptr;
  EXPECT_EQ(NextStep(g).next, "");
}

TEST(Checks, DriverVersionsCompareByNumber) {
  EXPECT_EQ(CompareDriverVersions("580.95.05", "575.51.03"), 1);
  EXPECT_EQ(CompareDriverVersions("570.9", "570.133.20"), -1);
  EXPECT_EQ(CompareDriverVersions("525.85.12", "525.85.12"), 0);
  EXPECT_EQ(CompareDriverVersions("r580", "575.51.03"), std::nullopt);
  EXPECT_EQ(CompareDriverVersions("580.", "575"), std::nullopt);
}

TEST(Checks, DriverOlderThanTheCataloguesMinimumFails) {
  EXPECT_EQ(StatusOf(H100(), "driver"), CheckStatus::kOk);
  auto rows = GpuChecks(Driver("520.61.05"), H100());
  const Check* c = Find(rows, "driver");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckStatus::kFail);
  EXPECT_EQ(c->fix, "Install NVIDIA driver " + H100().model->min_driver + " or later");
  EXPECT_EQ(StatusOf(H100(), "driver", "unknown"), CheckStatus::kUnknown);
}

TEST(Checks, AGpuInstanceWithoutAComputeInstanceWarnsWithTheCommand) {
  Gpu g = H100();
  g.mig = {true, true};
  g.gpu_instances.push_back({.id = 1, .profile = "3g.40gb", .placement = {0, 4}});
  g.gpu_instances.push_back({.id = 2, .profile = "3g.40gb", .placement = {4, 4}});
  g.gpu_instances[0].compute_instances.push_back({});
  auto rows = GpuChecks(Driver("580.95.05"), g);
  const Check* c = Find(rows, "compute instances");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckStatus::kWarn);
  EXPECT_EQ(c->detail, "GI 2 (3g.40gb@4) without a compute instance: CUDA sees nothing there");
  EXPECT_EQ(c->fix, "carve mig create-ci -i 0 --gi 2");
  g.gpu_instances[1].compute_instances.push_back({});
  EXPECT_EQ(StatusOf(g, "compute instances"), CheckStatus::kOk);
  EXPECT_EQ(Find(GpuChecks(Driver("580.95.05"), H100()), "compute instances"), nullptr);  // MIG off
}

TEST(Checks, AFailedGpuInstanceFailsWithItsXidAndOnlyThen) {
  Gpu g = H100();
  g.mig = {true, true};
  g.gpu_instances.push_back({.id = 1, .profile = "3g.40gb", .placement = {0, 4}});
  g.gpu_instances.push_back({.id = 2, .profile = "3g.40gb", .placement = {4, 4}});
  EXPECT_EQ(Find(GpuChecks(Driver("580.95.05"), g), "gpu instances"), nullptr);  // all healthy
  g.gpu_instances[1].fault = "Xid 94: contained ECC error";
  auto rows = GpuChecks(Driver("580.95.05"), g);
  const Check* c = Find(rows, "gpu instances");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckStatus::kFail);
  EXPECT_NE(c->detail.find("GI 2 (3g.40gb@4): Xid 94: contained ECC error"), std::string::npos);
  EXPECT_NE(c->fix.find("carve mig destroy -i 0 --gi 2"), std::string::npos);
}

TEST(Checks, EccPendingWarnsAndAnUnreportedEccIsUnknown) {
  Gpu g = H100();
  EXPECT_EQ(StatusOf(g, "ecc"), CheckStatus::kOk);
  g.ecc->pending = false;
  EXPECT_EQ(StatusOf(g, "ecc"), CheckStatus::kWarn);
  g.ecc.reset();
  EXPECT_EQ(StatusOf(g, "ecc"), CheckStatus::kUnknown);
}

TEST(Checks, PersistenceOffWarns) {
  Gpu g = H100();
  EXPECT_EQ(StatusOf(g, "persistence"), CheckStatus::kOk);
  g.persistence_mode = false;
  auto rows = GpuChecks(Driver("580.95.05"), g);
  EXPECT_EQ(Find(rows, "persistence")->status, CheckStatus::kWarn);
  EXPECT_EQ(Find(rows, "persistence")->fix,
            "sudo nvidia-smi -i 0 -pm 1 (or enable nvidia-persistenced)");
}

TEST(Checks, AWorkstationEditionWithoutMigIsInDisplayMode) {
  Gpu g = H100();
  g.model = mig::Catalog::Builtin().Find("rtx-pro-6000");
  g.pci_device_id = 0x2BB110DE;  // Workstation Edition
  EXPECT_EQ(StatusOf(g, "display mode"), CheckStatus::kOk);
  g.mig_capable = false;
  auto rows = GpuChecks(Driver("580.95.05"), g);
  EXPECT_EQ(Find(rows, "display mode")->status, CheckStatus::kFail);
  EXPECT_NE(Find(rows, "display mode")->fix.find("displaymodeselector --gpumode compute"),
            std::string::npos);
  g.pci_device_id = 0x2BB510DE;  // the Server Edition has no display mode
  EXPECT_EQ(Find(GpuChecks(Driver("580.95.05"), g), "display mode"), nullptr);
}

TEST(Checks, TimeSlicingOnlyWhereReported) {
  Gpu g = H100();
  EXPECT_EQ(Find(GpuChecks(Driver("580.95.05"), g), "mig time-slicing"), nullptr);
  g.mig_timeslicing = true;
  EXPECT_EQ(StatusOf(g, "mig time-slicing"), CheckStatus::kOk);
  g.mig_timeslicing = false;
  EXPECT_EQ(StatusOf(g, "mig time-slicing"), CheckStatus::kInfo);
}

TEST(Checks, ANonMigGpuHasNoRows) {
  Gpu g = H100();
  g.model = mig::Catalog::Builtin().Find("l40s");
  ASSERT_NE(g.model, nullptr);
  EXPECT_TRUE(GpuChecks(Driver("580.95.05"), g).empty());
}

TEST(Checks, BootAfterAHopperRebootWithoutAUnitHintsInstall) {
  Gpu g = H100();
  AppliedLayout a{"/etc/carve.yaml", {{"GPU-0", 2}}, false};
  g.mig = {true, true};
  g.gpu_instances.resize(2);
  auto rows = MachineChecks({g}, a);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, CheckStatus::kInfo);  // before the reboot: a hint
  EXPECT_EQ(rows[0].fix, "carve apply /etc/carve.yaml --install");
  g.mig = {};  // after it: Hopper lost MIG mode and the slices
  g.gpu_instances.clear();
  rows = MachineChecks({g}, a);
  EXPECT_EQ(rows[0].status, CheckStatus::kWarn);
  EXPECT_NE(rows[0].detail.find("GPU 0 lost the layout of /etc/carve.yaml at the reboot"),
            std::string::npos);
  EXPECT_EQ(rows[0].fix, "carve apply /etc/carve.yaml --install, then carve apply /etc/carve.yaml");
}

TEST(Checks, BootWithAUnitIsOkUntilTheLayoutIsMissing) {
  Gpu g = H100();
  g.mig = {true, true};
  g.gpu_instances.resize(2);
  AppliedLayout a{"/etc/carve.yaml", {{"GPU-0", 2}}, true};
  EXPECT_EQ(MachineChecks({g}, a).at(0).status, CheckStatus::kOk);
  g.gpu_instances.clear();
  EXPECT_EQ(MachineChecks({g}, a).at(0).status, CheckStatus::kWarn);
}

TEST(Checks, BootWithoutARecordNamesSlicesNothingRemakes) {
  Gpu g = H100();
  EXPECT_TRUE(MachineChecks({g}, std::nullopt).empty());
  g.mig = {true, true};
  g.gpu_instances.resize(1);
  auto rows = MachineChecks({g}, std::nullopt);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, CheckStatus::kInfo);
  EXPECT_EQ(rows[0].fix, "carve export > layout.yaml && carve apply layout.yaml --install");
}

}  // namespace
}  // namespace carve::device
