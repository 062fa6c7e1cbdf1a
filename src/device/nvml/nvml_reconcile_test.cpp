#include "device/nvml/nvml_reconcile.h"

#include <gtest/gtest.h>

namespace carve::device::nvml {
namespace {

// What NVML would report for `m` if the catalogue were right.
std::vector<NvmlProfile> Faithful(const mig::GpuModel& m) {
  std::vector<NvmlProfile> out;
  for (const auto& p : m.profiles)
    out.push_back({p.nvml_profile, p.id, p.name, p.slices, p.max_instances, p.sm, p.engines,
                   p.memory_mib, p.placements});
  return out;
}

const mig::GpuModel& H100() { return *mig::Catalog::Builtin().Find("h100-80gb"); }

bool Mentions(const std::vector<std::string>& notes, std::string_view what) {
  for (const auto& n : notes)
    if (n.find(what) != std::string::npos) return true;
  return false;
}

TEST(NvmlReconcile, AgreementLeavesNoNotes) {
  Reconciled r = Reconcile(H100(), Faithful(H100()), H100().memory_mib);
  EXPECT_TRUE(r.notes.empty()) << r.notes.front();
  EXPECT_EQ(r.model.profiles.size(), H100().profiles.size());
}

TEST(NvmlReconcile, NvmlWinsOnMemoryAndIdsAndSaysSo) {
  auto nvml = Faithful(H100());
  nvml[0].id = 42;
  nvml[0].memory_mib += 64;
  nvml[1].placements.pop_back();
  Reconciled r = Reconcile(H100(), nvml, H100().memory_mib - 100);
  EXPECT_EQ(r.model.memory_mib, H100().memory_mib - 100);
  EXPECT_EQ(r.model.profiles[0].id, 42);
  EXPECT_EQ(r.model.profiles[0].memory_mib, H100().profiles[0].memory_mib + 64);
  EXPECT_EQ(r.model.profiles[1].placements.size(), H100().profiles[1].placements.size() - 1);
  EXPECT_EQ(r.notes.size(), 4u);
  EXPECT_TRUE(Mentions(r.notes, "memory (MiB): catalogue says 81559, NVML reports 81459"));
  EXPECT_TRUE(Mentions(r.notes, "profile 1g.10gb id: catalogue says 19, NVML reports 42"));
}

TEST(NvmlReconcile, ProfilesOnOneSideOnlyAreReported) {
  auto nvml = Faithful(H100());
  nvml.erase(nvml.begin());  // NVML lacks 1g.10gb
  nvml.push_back({0x11, 99, "3g.40gb+gfx", 3, 1, 60, {}, 40448, {{0, 4}}});
  Reconciled r = Reconcile(H100(), nvml, 0);
  EXPECT_EQ(r.model.FindProfile("1g.10gb"), nullptr);
  EXPECT_TRUE(Mentions(r.notes, "1g.10gb (NVML_GPU_INSTANCE_PROFILE_1_SLICE) is in the catalogue"));
  EXPECT_TRUE(Mentions(r.notes, "NVML offers profile 3g.40gb+gfx (index 17, id 99)"));
}

TEST(NvmlReconcile, NoTableKeepsTheCatalogue) {
  Reconciled r = Reconcile(H100(), {}, 0);
  EXPECT_EQ(r.model.profiles.size(), H100().profiles.size());
  EXPECT_TRUE(Mentions(r.notes, "NVML reported no MIG profiles"));
}

TEST(NvmlReconcile, ProfileNameDropsThePrefix) {
  EXPECT_EQ(ProfileName("MIG 1c.3g.40gb"), "1c.3g.40gb");
  EXPECT_EQ(ProfileName("2g.20gb"), "2g.20gb");
}

}  // namespace
}  // namespace carve::device::nvml
