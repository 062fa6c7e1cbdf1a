// Drop-in entry points on one device handle: a physical GPU or a MIG device.
#include <fmt/format.h>

#include <cstdio>

#include "nvmlshim/shim.h"

using namespace carve::nvmlshim;
using carve::device::Gpu;
using SimMachine = carve::device::sim::SimMachine;

namespace {

constexpr unsigned long long kMiB = 1024ull * 1024ull;

unsigned int ArchValue(carve::mig::Arch a) {
  switch (a) {
    case carve::mig::Arch::kAmpere:
      return NVML_DEVICE_ARCH_AMPERE;
    case carve::mig::Arch::kHopper:
      return NVML_DEVICE_ARCH_HOPPER;
    case carve::mig::Arch::kBlackwell:
      return NVML_DEVICE_ARCH_BLACKWELL;
    case carve::mig::Arch::kAda:
      return NVML_DEVICE_ARCH_ADA;
    default:
      return NVML_DEVICE_ARCH_UNKNOWN;
  }
}

unsigned int SlotOf(const Dev& d) {
  for (const auto& s : MigSlots(d.gpu))
    if (s.gi == d.gi && s.ci == d.ci) return s.index;
  return 0;
}

// Processes the handle sees: all of the GPU's, or the MIG device's own.
std::vector<nvmlProcessInfo_t> Processes(const Dev& d) {
  std::vector<nvmlProcessInfo_t> out;
  for (const auto& p : d.gpu.processes) {
    if (d.ci && (p.gi != d.gi->id || p.ci != d.ci->id)) continue;
    auto id = [](int x) { return x < 0 ? NVML_INSTANCE_ID_NONE : static_cast<unsigned int>(x); };
    out.push_back({p.pid, p.memory_mib * kMiB, id(p.gi), id(p.ci)});
  }
  return out;
}

template <typename Info>
nvmlReturn_t ListProcesses(nvmlDevice_t h, unsigned int* count, Info* infos) {
  return OnDevice(h, [&](const Dev& d) {
    auto procs = Processes(d);
    nvmlReturn_t rc = CheckRoom(static_cast<unsigned int>(procs.size()), infos, count);
    if (rc != NVML_SUCCESS) return rc;
    for (size_t i = 0; i < procs.size(); ++i) {
      Info info{};
      info.pid = procs[i].pid;
      info.usedGpuMemory = procs[i].usedGpuMemory;
      if constexpr (sizeof(Info) == sizeof(nvmlProcessInfo_t)) {
        info.gpuInstanceId = procs[i].gpuInstanceId;
        info.computeInstanceId = procs[i].computeInstanceId;
      }
      infos[i] = info;
    }
    return NVML_SUCCESS;
  });
}

nvmlReturn_t PciInfo(nvmlDevice_t h, nvmlPciInfo_t* pci) {
  return OnDevice(h, [&](const Dev& d) {
    if (!pci || d.ci) return d.ci ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_INVALID_ARGUMENT;
    *pci = nvmlPciInfo_t{};
    unsigned int domain = 0, bus = 0, dev = 0;
    std::sscanf(d.gpu.pci_bus_id.c_str(), "%x:%x:%x", &domain, &bus, &dev);
    pci->domain = domain;
    pci->bus = bus;
    pci->device = dev;
    pci->pciDeviceId = d.gpu.pci_device_id;
    std::snprintf(pci->busId, sizeof pci->busId, "%08X:%02X:%02X.0", domain, bus, dev);
    std::snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04X:%02X:%02X.0", domain & 0xFFFF,
                  bus & 0xFF, dev & 0xFF);
    return NVML_SUCCESS;
  });
}

}  // namespace

NVML_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t h, char* name, unsigned int length) {
  return OnDevice(h, [&](const Dev& d) {
    return CopyString(d.ci ? d.gpu.name + " " + MigName(d.ci->profile) : d.gpu.name, name, length);
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t h, char* uuid, unsigned int length) {
  return OnDevice(
      h, [&](const Dev& d) { return CopyString(d.ci ? d.ci->uuid : d.gpu.uuid, uuid, length); });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t h, unsigned int* index) {
  return OnDevice(h, [&](const Dev& d) {
    if (!index) return NVML_ERROR_INVALID_ARGUMENT;
    *index = d.ci ? SlotOf(d) : static_cast<unsigned int>(d.gpu.index);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetSerial(nvmlDevice_t h, char* serial, unsigned int length) {
  return OnDevice(h, [&](const Dev& d) {
    return d.ci ? NVML_ERROR_NOT_SUPPORTED : CopyString(d.gpu.serial, serial, length);
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t h, unsigned int* minor) {
  return OnDevice(h, [&](const Dev& d) {
    if (!minor) return NVML_ERROR_INVALID_ARGUMENT;
    if (d.ci) return NVML_ERROR_NOT_SUPPORTED;
    *minor = static_cast<unsigned int>(d.gpu.index);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t h, nvmlPciInfo_t* pci) {
  return PciInfo(h, pci);
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t h, nvmlPciInfo_t* pci) {
  return PciInfo(h, pci);
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t h, nvmlPciInfo_t* pci) {
  return PciInfo(h, pci);
}

static void MemoryOf(const Dev& d, unsigned long long* total, unsigned long long* used) {
  *total = (d.gi ? d.gi->memory_total_mib : d.gpu.memory_total_mib) * kMiB;
  *used = (d.gi ? d.gi->memory_used_mib : d.gpu.memory_used_mib) * kMiB;
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t h, nvmlMemory_t* mem) {
  return OnDevice(h, [&](const Dev& d) {
    if (!mem) return NVML_ERROR_INVALID_ARGUMENT;
    MemoryOf(d, &mem->total, &mem->used);
    mem->free = mem->total - mem->used;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t h, nvmlMemory_v2_t* mem) {
  return OnDevice(h, [&](const Dev& d) {
    if (!mem) return NVML_ERROR_INVALID_ARGUMENT;
    if (mem->version != nvmlMemory_v2 && mem->version != 2)
      return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    MemoryOf(d, &mem->total, &mem->used);
    mem->reserved = 0;  // the simulator reserves nothing
    mem->free = mem->total - mem->used;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t h, nvmlDeviceArchitecture_t* arch) {
  return OnDevice(h, [&](const Dev& d) {
    if (!arch) return NVML_ERROR_INVALID_ARGUMENT;
    *arch = ArchValue(d.gpu.arch);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetPersistenceMode(nvmlDevice_t h, nvmlEnableState_t* mode) {
  return OnDevice(h, [&](const Dev& d) {
    if (!mode) return NVML_ERROR_INVALID_ARGUMENT;
    *mode = d.gpu.persistence_mode ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t h, nvmlEnableState_t* current,
                                              nvmlEnableState_t* pending) {
  return OnDevice(h, [&](const Dev& d) {
    if (!current || !pending) return NVML_ERROR_INVALID_ARGUMENT;
    if (d.gi) return NVML_ERROR_NOT_SUPPORTED;  // a MIG device: ask its parent
    if (!d.gpu.ecc) return NVML_ERROR_NOT_SUPPORTED;
    auto state = [](bool on) { return on ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED; };
    *current = state(d.gpu.ecc->current), *pending = state(d.gpu.ecc->pending);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t h, int* major,
                                                            int* minor) {
  return OnDevice(h, [&](const Dev& d) {
    if (!major || !minor) return NVML_ERROR_INVALID_ARGUMENT;
    bool rtx = d.gpu.model && d.gpu.model->alias.starts_with("rtx");
    switch (d.gpu.arch) {  // A100/A30 8.0, H100/H200 9.0, B200 10.0, RTX PRO 12.0, Ada 8.9
      case carve::mig::Arch::kAmpere:
        *major = 8, *minor = 0;
        break;
      case carve::mig::Arch::kHopper:
        *major = 9, *minor = 0;
        break;
      case carve::mig::Arch::kBlackwell:
        *major = rtx ? 12 : 10, *minor = 0;
        break;
      case carve::mig::Arch::kAda:
        *major = 8, *minor = 9;
        break;
      default:
        return NVML_ERROR_NOT_SUPPORTED;
    }
    return NVML_SUCCESS;
  });
}

static nvmlReturn_t Attributes(nvmlDevice_t h, nvmlDeviceAttributes_t* a) {
  return OnDevice(h, [&](const Dev& d) {
    if (!a) return NVML_ERROR_INVALID_ARGUMENT;
    if (!d.ci) return NVML_ERROR_NOT_SUPPORTED;  // MIG device handles only
    const auto& e = d.profile->engines;
    *a = {static_cast<unsigned int>(d.ci->sm),
          static_cast<unsigned int>(e.ce),
          static_cast<unsigned int>(e.dec),
          static_cast<unsigned int>(e.enc),
          static_cast<unsigned int>(e.jpeg),
          static_cast<unsigned int>(e.ofa),
          static_cast<unsigned int>(d.profile->slices),
          static_cast<unsigned int>(d.ci->slices),
          d.gi->memory_total_mib};
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t h, nvmlDeviceAttributes_t* a) {
  return Attributes(h, a);
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetAttributes(nvmlDevice_t h, nvmlDeviceAttributes_t* a) {
  return Attributes(h, a);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t h,
                                                                 unsigned int* count,
                                                                 nvmlProcessInfo_t* infos) {
  return ListProcesses(h, count, infos);
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t h,
                                                                 unsigned int* count,
                                                                 nvmlProcessInfo_t* infos) {
  return ListProcesses(h, count, infos);
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t h, unsigned int* count,
                                                              nvmlProcessInfo_v1_t* infos) {
  return ListProcesses(h, count, infos);
}

// The simulator's processes are all compute processes.
static nvmlReturn_t NoProcesses(nvmlDevice_t h, unsigned int* count) {
  return OnDevice(h, [&](const Dev&) {
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    *count = 0;
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t h,
                                                                  unsigned int* count,
                                                                  nvmlProcessInfo_t*) {
  return NoProcesses(h, count);
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetMPSComputeRunningProcesses_v3(nvmlDevice_t h,
                                                                    unsigned int* count,
                                                                    nvmlProcessInfo_t*) {
  return NoProcesses(h, count);
}
