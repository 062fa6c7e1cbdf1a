// Drop-in entry points for MIG device handles: one per compute instance, at a
// sparse index under its parent GPU.
#include "nvmlshim/shim.h"

using namespace carve::nvmlshim;
using SimMachine = carve::device::sim::SimMachine;

namespace {}  // namespace

NVML_EXPORT nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t h, unsigned int* is_mig) {
  return OnDevice(h, [&](const Dev& d) {
    if (!is_mig) return NVML_ERROR_INVALID_ARGUMENT;
    *is_mig = d.ci ? 1 : 0;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t h, unsigned int* id) {
  return OnDevice(h, [&](const Dev& d) {
    if (!id) return NVML_ERROR_INVALID_ARGUMENT;
    if (!d.ci) return NVML_ERROR_NOT_SUPPORTED;
    *id = static_cast<unsigned int>(d.gi->id);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t h, unsigned int* id) {
  return OnDevice(h, [&](const Dev& d) {
    if (!id) return NVML_ERROR_INVALID_ARGUMENT;
    if (!d.ci) return NVML_ERROR_NOT_SUPPORTED;
    *id = static_cast<unsigned int>(d.ci->id);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t h, unsigned int* count) {
  return OnDevice(h, [&](const Dev& d) {
    if (!count || d.ci) return NVML_ERROR_INVALID_ARGUMENT;
    *count = MaxMigDevices(d.gpu);  // 0 with SUCCESS when MIG is off or unsupported
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t h, unsigned int index,
                                                             nvmlDevice_t* out) {
  return OnDevice(h, [&](const Dev& d) {
    if (!out || d.ci) return NVML_ERROR_INVALID_ARGUMENT;
    if (!d.gpu.mig_capable || !d.gpu.mig.current) return NVML_ERROR_NOT_SUPPORTED;
    if (index >= MaxMigDevices(d.gpu)) return NVML_ERROR_INVALID_ARGUMENT;
    for (const auto& s : MigSlots(d.gpu))
      if (s.index == index)
        return *out = Shim::Get().Device(d.gpu.index, s.gi->id, s.ci->id), NVML_SUCCESS;
    return NVML_ERROR_NOT_FOUND;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t h,
                                                                      nvmlDevice_t* out) {
  return OnDevice(h, [&](const Dev& d) {
    if (!out || !d.ci) return NVML_ERROR_INVALID_ARGUMENT;
    *out = Shim::Get().Device(d.gpu.index);
    return NVML_SUCCESS;
  });
}
