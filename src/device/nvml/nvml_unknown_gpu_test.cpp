// GPUs the drop-in cannot simulate: one the catalogue lacks, and one where the
// driver disagrees with the catalogue. A fake NVML (plain functions) stands in
// for the driver.
#include <gtest/gtest.h>

#include <cstring>

#include "device/nvml/nvml_machine.h"
#include "render/layout_bar.h"
#include "render/machine_json.h"

namespace carve::device::nvml {
namespace {

// The fake driver's one GPU: MIG on, one 1g GI at 0 with its full CI.
uint32_t g_pci_id = 0x999910DE;
uint64_t g_memory_mib = 12288;
nvmlDevice_t Gpu0() {
  static int x;
  return reinterpret_cast<nvmlDevice_t>(&x);
}
nvmlDevice_t Mig0() {
  static int x;
  return reinterpret_cast<nvmlDevice_t>(&x);
}
nvmlGpuInstance_t Gi0() {
  static int x;
  return reinterpret_cast<nvmlGpuInstance_t>(&x);
}
nvmlComputeInstance_t Ci0() {
  static int x;
  return reinterpret_cast<nvmlComputeInstance_t>(&x);
}

nvmlReturn_t Copy(const char* s, char* buf, unsigned n) {
  if (std::strlen(s) + 1 > n) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::strcpy(buf, s);
  return NVML_SUCCESS;
}

NvmlFunctions Fake() {
  NvmlFunctions f;
  f.nvmlDeviceGetCount_v2 = [](unsigned* n) { return *n = 1, NVML_SUCCESS; };
  f.nvmlDeviceGetHandleByIndex_v2 = [](unsigned, nvmlDevice_t* d) {
    return *d = Gpu0(), NVML_SUCCESS;
  };
  f.nvmlDeviceGetName = [](nvmlDevice_t d, char* b, unsigned n) {
    return Copy(d == Mig0() ? "NVIDIA Future GPU MIG 1g.12gb" : "NVIDIA Future GPU", b, n);
  };
  f.nvmlDeviceGetUUID = [](nvmlDevice_t d, char* b, unsigned n) {
    return Copy(d == Mig0() ? "MIG-00000000-0000-0000-0000-000000000001"
                            : "GPU-00000000-0000-0000-0000-000000000001",
                b, n);
  };
  f.nvmlDeviceGetPciInfo_v3 = [](nvmlDevice_t, nvmlPciInfo_t* p) {
    *p = {};
    std::strcpy(p->busId, "00000000:41:00.0");
    p->pciDeviceId = g_pci_id;
    return NVML_SUCCESS;
  };
  f.nvmlDeviceGetMemoryInfo = [](nvmlDevice_t d, nvmlMemory_t* m) {
    unsigned long long total = (d == Mig0() ? 12000ull : g_memory_mib) << 20;
    *m = {total, total, 0};
    return NVML_SUCCESS;
  };
  f.nvmlDeviceGetMigMode = [](nvmlDevice_t, unsigned* c, unsigned* p) {
    return *c = *p = 1, NVML_SUCCESS;
  };
  f.nvmlDeviceGetGpuInstanceProfileInfoV = [](nvmlDevice_t, unsigned idx,
                                              nvmlGpuInstanceProfileInfo_v2_t* i) {
    if (idx != 0) return NVML_ERROR_NOT_SUPPORTED;
    if (i->version != nvmlGpuInstanceProfileInfo_v3) return NVML_ERROR_INVALID_ARGUMENT;
    auto* v3 = reinterpret_cast<nvmlGpuInstanceProfileInfo_v3_t*>(i);
    v3->id = 19, v3->sliceCount = 1, v3->instanceCount = 4, v3->multiprocessorCount = 20;
    v3->memorySizeMB = 12000;
    std::strcpy(v3->name, "MIG 1g.12gb");
    return NVML_SUCCESS;
  };
  f.nvmlDeviceGetGpuInstancePossiblePlacements_v2 = [](nvmlDevice_t, unsigned,
                                                       nvmlGpuInstancePlacement_t* p, unsigned* n) {
    if (p)
      for (unsigned k = 0; k < 4; ++k) p[k] = {k, 1};
    return *n = 4, NVML_SUCCESS;
  };
  f.nvmlDeviceGetGpuInstances = [](nvmlDevice_t, unsigned, nvmlGpuInstance_t* a, unsigned* n) {
    return a[0] = Gi0(), *n = 1, NVML_SUCCESS;
  };
  f.nvmlGpuInstanceGetInfo = [](nvmlGpuInstance_t, nvmlGpuInstanceInfo_t* i) {
    *i = {Gpu0(), 3, 19, {0, 1}};
    return NVML_SUCCESS;
  };
  f.nvmlGpuInstanceGetComputeInstanceProfileInfoV = [](nvmlGpuInstance_t, unsigned idx, unsigned,
                                                       nvmlComputeInstanceProfileInfo_v2_t* i) {
    if (idx != 0) return NVML_ERROR_NOT_SUPPORTED;
    auto* v3 = reinterpret_cast<nvmlComputeInstanceProfileInfo_v3_t*>(i);
    v3->id = 0, v3->sliceCount = 1, v3->instanceCount = 1, v3->multiprocessorCount = 20;
    std::strcpy(v3->name, "MIG 1g.12gb");
    return NVML_SUCCESS;
  };
  f.nvmlGpuInstanceGetComputeInstances = [](nvmlGpuInstance_t, unsigned, nvmlComputeInstance_t* a,
                                            unsigned* n) {
    return a[0] = Ci0(), *n = 1, NVML_SUCCESS;
  };
  f.nvmlComputeInstanceGetInfo_v2 = [](nvmlComputeInstance_t, nvmlComputeInstanceInfo_t* i) {
    *i = {Gpu0(), Gi0(), 0, 0, {0, 1}};
    return NVML_SUCCESS;
  };
  f.nvmlDeviceGetMaxMigDeviceCount = [](nvmlDevice_t, unsigned* n) { return *n = 4, NVML_SUCCESS; };
  f.nvmlDeviceGetMigDeviceHandleByIndex = [](nvmlDevice_t, unsigned j, nvmlDevice_t* m) {
    return j == 2 ? (*m = Mig0(), NVML_SUCCESS) : NVML_ERROR_NOT_FOUND;
  };
  f.nvmlDeviceGetGpuInstanceId = [](nvmlDevice_t, unsigned* id) { return *id = 3, NVML_SUCCESS; };
  f.nvmlDeviceGetComputeInstanceId = [](nvmlDevice_t, unsigned* id) {
    return *id = 0, NVML_SUCCESS;
  };
  f.nvmlDeviceGetComputeRunningProcesses_v3 = [](nvmlDevice_t, unsigned* n, nvmlProcessInfo_t*) {
    return *n = 0, NVML_SUCCESS;
  };
  return f;
}

TEST(NvmlUnknownGpu, ListedFromWhatNvmlSaysWithTheGapReported) {
  g_pci_id = 0x999910DE;
  auto m = NvmlMachine::Over(NvmlLibrary::FromFunctions(Fake()));
  auto gpus = m->Gpus();
  ASSERT_TRUE(gpus.ok()) << gpus.status().ToString();
  const Gpu& g = gpus->at(0);
  EXPECT_EQ(g.model, nullptr);
  EXPECT_EQ(g.name, "NVIDIA Future GPU");
  EXPECT_EQ(g.memory_total_mib, 12288u);
  ASSERT_EQ(g.notes.size(), 1u);
  EXPECT_NE(g.notes[0].find("not in carve's catalogue"), std::string::npos);
  ASSERT_EQ(g.gpu_instances.size(), 1u);
  EXPECT_EQ(g.gpu_instances[0].profile, "1g.12gb");
  EXPECT_EQ(g.gpu_instances[0].id, 3);
  ASSERT_EQ(g.gpu_instances[0].compute_instances.size(), 1u);
  EXPECT_EQ(g.gpu_instances[0].compute_instances[0].uuid,
            "MIG-00000000-0000-0000-0000-000000000001");
  EXPECT_EQ(render::GpuJson(g)["model"], nullptr);
  auto bar = render::DrawGpu(g);
  ASSERT_EQ(bar.size(), 4u);
  EXPECT_NE(bar[0].find("1g.12gb"), std::string::npos);
  EXPECT_FALSE(m->CreateGpuInstance(0, 19, std::nullopt).ok());  // carve will not partition it
}

TEST(NvmlUnknownGpu, DriverWinsWhereTheCatalogueDisagrees) {
  g_pci_id = 0x233010DE;  // an H100 SXM, but with a profile table of one 1g.12gb
  g_memory_mib = 80000;
  auto m = NvmlMachine::Over(NvmlLibrary::FromFunctions(Fake()));
  auto g = m->GetGpu(0);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_NE(g->model, nullptr);
  EXPECT_NE(g->model, mig::Catalog::Builtin().Find("h100-80gb"));
  EXPECT_EQ(g->model->memory_mib, 80000u);
  ASSERT_EQ(g->model->profiles.size(), 1u);
  EXPECT_EQ(g->model->profiles[0].name, "1g.12gb");
  EXPECT_EQ(g->model->profiles[0].placements.size(), 4u);
  EXPECT_GE(g->notes.size(), 5u);  // memory, name, SMs, …, and six profiles NVML lacks
  EXPECT_EQ(g->gpu_instances.at(0).profile, "1g.12gb");
  g_memory_mib = 12288;
}

}  // namespace
}  // namespace carve::device::nvml
