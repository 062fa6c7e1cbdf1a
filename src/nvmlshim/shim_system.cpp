// Drop-in entry points: init, versions, error strings, device enumeration and
// the carveSim* extensions.
#include <fmt/format.h>

#include <cstring>

#include "nvmlshim/shim.h"

using carve::nvmlshim::CopyString;
using carve::nvmlshim::Dev;
using carve::nvmlshim::Run;
using carve::nvmlshim::Shim;
using carve::nvmlshim::ToNvml;
using SimMachine = carve::device::sim::SimMachine;

NVML_EXPORT nvmlReturn_t nvmlInit_v2(void) { return Shim::Get().Init(); }
NVML_EXPORT nvmlReturn_t nvmlInit(void) { return Shim::Get().Init(); }
NVML_EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  if (flags & ~7u) return NVML_ERROR_INVALID_ARGUMENT;
  return Shim::Get().Init();
}
NVML_EXPORT nvmlReturn_t nvmlShutdown(void) { return Shim::Get().Shutdown(); }

NVML_EXPORT const char* nvmlErrorString(nvmlReturn_t rc) {
  switch (rc) {  // the strings of NVIDIA's table; our own where it has none
    case NVML_SUCCESS:
      return "Success";
    case NVML_ERROR_UNINITIALIZED:
      return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
      return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
      return "Not Supported";
    case NVML_ERROR_NO_PERMISSION:
      return "Insufficient Permissions";
    case NVML_ERROR_ALREADY_INITIALIZED:
      return "Already Initialized";
    case NVML_ERROR_NOT_FOUND:
      return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE:
      return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER:
      return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED:
      return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT:
      return "Timeout";
    case NVML_ERROR_IRQ_ISSUE:
      return "Interrupt Request Issue";
    case NVML_ERROR_LIBRARY_NOT_FOUND:
      return "NVML Shared Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND:
      return "Function Not Found";
    case NVML_ERROR_CORRUPTED_INFOROM:
      return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST:
      return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED:
      return "GPU requires reset";
    case NVML_ERROR_OPERATING_SYSTEM:
      return "GPU access blocked by the operating system";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH:
      return "Driver/library version mismatch";
    case NVML_ERROR_IN_USE:
      return "In use by another client";
    case NVML_ERROR_MEMORY:
      return "Insufficient Memory";
    case NVML_ERROR_NO_DATA:
      return "No data";
    case NVML_ERROR_VGPU_ECC_NOT_SUPPORTED:
      return "vGPU ECC not supported";
    case NVML_ERROR_INSUFFICIENT_RESOURCES:
      return "Insufficient Resources";
    case NVML_ERROR_FREQ_NOT_SUPPORTED:
      return "Frequency not supported";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH:
      return "Argument version mismatch";
    case NVML_ERROR_DEPRECATED:
      return "Deprecated";
    case NVML_ERROR_NOT_READY:
      return "Not ready";
    case NVML_ERROR_GPU_NOT_FOUND:
      return "GPU not found";
    case NVML_ERROR_INVALID_STATE:
      return "Invalid state";
    case NVML_ERROR_RESET_TYPE_NOT_SUPPORTED:
      return "Reset type not supported";
    default:
      return "Unknown Error";
  }
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  return Run([&](SimMachine& m) {
    auto d = m.Driver();
    return d.ok() ? CopyString(d->driver_version, version, length) : ToNvml(d.status());
  });
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char* version, unsigned int length) {
  return Run([&](SimMachine& m) {
    auto d = m.Driver();
    return d.ok() ? CopyString(d->nvml_version, version, length) : ToNvml(d.status());
  });
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int* version) {
  return Run([&](SimMachine& m) {
    auto d = m.Driver();
    if (!d.ok()) return ToNvml(d.status());
    if (!version) return NVML_ERROR_INVALID_ARGUMENT;
    int major = 0, minor = 0;
    std::sscanf(d->cuda_version.c_str(), "%d.%d", &major, &minor);
    *version = major * 1000 + minor * 10;
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion(int* version) {
  return nvmlSystemGetCudaDriverVersion_v2(version);
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char* name,
                                                  unsigned int length) {
  return Run([&](SimMachine& m) {
    auto gpus = m.Gpus();
    if (!gpus.ok()) return ToNvml(gpus.status());
    for (const auto& g : *gpus)
      for (const auto& p : g.processes)
        if (p.pid == pid) return CopyString(p.name, name, length);
    return NVML_ERROR_NOT_FOUND;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  return Run([&](SimMachine& m) {
    auto s = m.State();
    if (!s.ok()) return ToNvml(s.status());
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    *count = static_cast<unsigned int>(s->gpus.size());
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int* count) {
  return nvmlDeviceGetCount_v2(count);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  return Run([&](SimMachine& m) {
    auto s = m.State();
    if (!s.ok()) return ToNvml(s.status());
    if (!device || index >= s->gpus.size()) return NVML_ERROR_INVALID_ARGUMENT;
    *device = Shim::Get().Device(static_cast<int>(index));
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t* device) {
  return nvmlDeviceGetHandleByIndex_v2(index, device);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  return Run([&](SimMachine& m) {
    if (!uuid || !device) return NVML_ERROR_INVALID_ARGUMENT;
    std::string_view u(uuid);
    if (!u.starts_with("GPU-") && !u.starts_with("MIG-")) return NVML_ERROR_INVALID_ARGUMENT;
    auto gpus = m.Gpus();
    if (!gpus.ok()) return ToNvml(gpus.status());
    for (const auto& g : *gpus) {
      if (g.uuid == u) return *device = Shim::Get().Device(g.index), NVML_SUCCESS;
      for (const auto& gi : g.gpu_instances)
        for (const auto& ci : gi.compute_instances)
          if (ci.uuid == u)
            return *device = Shim::Get().Device(g.index, gi.id, ci.id), NVML_SUCCESS;
    }
    return NVML_ERROR_NOT_FOUND;
  });
}

static bool SameBusId(std::string_view a, std::string_view b) {
  auto norm = [](std::string_view s) {  // "0000:18:00.0" and "00000000:18:00.0" are one bus id
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    size_t colon = out.find(':');
    if (colon == std::string::npos) return out;
    std::string domain = out.substr(0, colon);
    size_t nonzero = std::min(domain.find_first_not_of('0'), domain.size());
    domain = domain.substr(nonzero);  // the domain's value, then padded to 4 digits
    return std::string(domain.size() < 4 ? 4 - domain.size() : 0, '0') + domain + out.substr(colon);
  };
  return norm(a) == norm(b);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* bus_id,
                                                          nvmlDevice_t* device) {
  return Run([&](SimMachine& m) {
    if (!bus_id || !device) return NVML_ERROR_INVALID_ARGUMENT;
    auto gpus = m.Gpus();
    if (!gpus.ok()) return ToNvml(gpus.status());
    for (const auto& g : *gpus)
      if (SameBusId(g.pci_bus_id, bus_id))
        return *device = Shim::Get().Device(g.index), NVML_SUCCESS;
    return NVML_ERROR_NOT_FOUND;
  });
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char* bus_id, nvmlDevice_t* device) {
  return nvmlDeviceGetHandleByPciBusId_v2(bus_id, device);
}

// ---- carve's extensions: how carve's NVML backend knows it runs on the simulator.

NVML_EXPORT nvmlReturn_t carveSimStatePath(char* path, unsigned int length) {
  return Run([&](SimMachine&) { return CopyString(Shim::Get().path(), path, length); });
}

NVML_EXPORT nvmlReturn_t carveSimStopProcess(unsigned int index, unsigned int pid,
                                             unsigned int grace_ms) {
  return Run([&](SimMachine& m) {
    return ToNvml(m.StopProcess(static_cast<int>(index), pid, static_cast<int>(grace_ms)));
  });
}
