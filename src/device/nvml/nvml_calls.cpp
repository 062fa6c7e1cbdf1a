#include "device/nvml/nvml_calls.h"

namespace carve::device::nvml {
namespace {

bool Retry(int rc) {  // a versioned call the driver does not take: try the older one
  return rc == NVML_ERROR_FUNCTION_NOT_FOUND || rc == NVML_ERROR_INVALID_ARGUMENT ||
         rc == NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
}

template <typename Info>
void Common(const Info& i, NvmlProfile* p) {
  p->id = static_cast<int>(i.id);
  p->slices = static_cast<int>(i.sliceCount);
  p->max_instances = static_cast<int>(i.instanceCount);
  p->sm = static_cast<int>(i.multiprocessorCount);
  p->engines = {static_cast<int>(i.copyEngineCount), static_cast<int>(i.decoderCount),
                static_cast<int>(i.encoderCount), static_cast<int>(i.jpegCount),
                static_cast<int>(i.ofaCount)};
  p->memory_mib = i.memorySizeMB;
}

template <typename Info>
CiProfile CiCommon(const Info& i) {
  return {static_cast<int>(i.id),
          static_cast<int>(i.sliceCount),
          static_cast<int>(i.instanceCount),
          static_cast<int>(i.multiprocessorCount),
          {}};
}

}  // namespace

int ProfileInfo(const NvmlFunctions& fn, nvmlDevice_t dev, int index, bool mig_on, NvmlProfile* p) {
  p->index = index;
  unsigned idx = static_cast<unsigned>(index);
  int rc = NVML_ERROR_FUNCTION_NOT_FOUND;
  if (mig_on) {
    nvmlGpuInstanceProfileInfo_v3_t v3{};
    v3.version = nvmlGpuInstanceProfileInfo_v3;
    rc = Call(fn.nvmlDeviceGetGpuInstanceProfileInfoV, dev, idx,
              reinterpret_cast<nvmlGpuInstanceProfileInfo_v2_t*>(&v3));
    if (rc == NVML_SUCCESS) return Common(v3, p), p->name = ProfileName(v3.name), rc;
    nvmlGpuInstanceProfileInfo_v2_t v2{};
    v2.version = nvmlGpuInstanceProfileInfo_v2;
    if (Retry(rc)) rc = Call(fn.nvmlDeviceGetGpuInstanceProfileInfoV, dev, idx, &v2);
    if (rc == NVML_SUCCESS) return Common(v2, p), p->name = ProfileName(v2.name), rc;
    if (!Retry(rc)) return rc;
  }
  nvmlGpuInstanceProfileInfo_t v1{};
  rc = Call(fn.nvmlDeviceGetGpuInstanceProfileInfo, dev, idx, &v1);
  if (rc == NVML_SUCCESS) Common(v1, p);
  return rc;
}

int CiProfileInfo(const NvmlFunctions& fn, nvmlGpuInstance_t gi, int index, CiProfile* p) {
  unsigned idx = static_cast<unsigned>(index), eng = NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED;
  nvmlComputeInstanceProfileInfo_v3_t v3{};
  v3.version = nvmlComputeInstanceProfileInfo_v3;
  int rc = Call(fn.nvmlGpuInstanceGetComputeInstanceProfileInfoV, gi, idx, eng,
                reinterpret_cast<nvmlComputeInstanceProfileInfo_v2_t*>(&v3));
  if (rc == NVML_SUCCESS) return *p = CiCommon(v3), p->name = ProfileName(v3.name), rc;
  nvmlComputeInstanceProfileInfo_v2_t v2{};
  v2.version = nvmlComputeInstanceProfileInfo_v2;
  if (Retry(rc)) rc = Call(fn.nvmlGpuInstanceGetComputeInstanceProfileInfoV, gi, idx, eng, &v2);
  if (rc == NVML_SUCCESS) return *p = CiCommon(v2), p->name = ProfileName(v2.name), rc;
  if (!Retry(rc)) return rc;
  nvmlComputeInstanceProfileInfo_t v1{};
  rc = Call(fn.nvmlGpuInstanceGetComputeInstanceProfileInfo, gi, idx, eng, &v1);
  if (rc == NVML_SUCCESS) *p = CiCommon(v1);
  return rc;
}

int RunningProcesses(const NvmlFunctions& fn, nvmlDevice_t h, std::vector<nvmlProcessInfo_t>* out) {
  auto v3 = fn.nvmlDeviceGetComputeRunningProcesses_v3 ? fn.nvmlDeviceGetComputeRunningProcesses_v3
                                                       : fn.nvmlDeviceGetComputeRunningProcesses_v2;
  int rc;
  if (v3) {
    rc = Enumerate(out, 8, [&](nvmlProcessInfo_t* a, unsigned* n) { return v3(h, n, a); });
  } else {
    std::vector<nvmlProcessInfo_v1_t> v1;
    rc = Enumerate(&v1, 8, [&](nvmlProcessInfo_v1_t* a, unsigned* n) {
      return Call(fn.nvmlDeviceGetComputeRunningProcesses, h, n, a);
    });
    out->clear();
    for (const auto& p : v1)
      out->push_back({p.pid, p.usedGpuMemory, NVML_INSTANCE_ID_NONE, NVML_INSTANCE_ID_NONE});
  }
  if (rc != NVML_SUCCESS || !fn.nvmlDeviceGetGraphicsRunningProcesses_v3) return rc;
  std::vector<nvmlProcessInfo_t> gfx;
  if (Enumerate(&gfx, 4, [&](nvmlProcessInfo_t* a, unsigned* n) {
        return fn.nvmlDeviceGetGraphicsRunningProcesses_v3(h, n, a);
      }) == NVML_SUCCESS)
    for (const auto& p : gfx)
      if (std::none_of(out->begin(), out->end(), [&](auto& q) { return q.pid == p.pid; }))
        out->push_back(p);
  return rc;
}

}  // namespace carve::device::nvml
