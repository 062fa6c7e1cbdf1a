// NvmlMachine's reads: one Gpu from NVML's answers, versioned calls first and
// older ones where this driver lacks them.
#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "device/nvml/nvml_calls.h"
#include "device/nvml/nvml_errors.h"
#include "device/nvml/nvml_machine.h"

namespace carve::device::nvml {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

template <typename F, typename H>
std::string Text(F f, H h, int* rc) {
  char buf[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
  *rc = Call(f, h, buf, static_cast<unsigned>(sizeof buf));
  return *rc == NVML_SUCCESS ? std::string(buf) : std::string();
}

mig::Arch ArchOf(unsigned int v, mig::Arch fallback) {
  switch (v) {
    case NVML_DEVICE_ARCH_AMPERE:
      return mig::Arch::kAmpere;
    case NVML_DEVICE_ARCH_ADA:
      return mig::Arch::kAda;
    case NVML_DEVICE_ARCH_HOPPER:
      return mig::Arch::kHopper;
    case NVML_DEVICE_ARCH_BLACKWELL:
      return mig::Arch::kBlackwell;
    default:
      return fallback;
  }
}

// A Workstation edition that ships in display mode, where NVML reports MIG as
// not supported until DisplayModeSelector switches it to compute mode.
bool InDisplayMode(const Gpu& g) {
  const mig::Product* p =
      mig::Catalog::Builtin().FindProduct(fmt::format("0x{:08X}", g.pci_device_id));
  return p && p->display_mode;
}

int Id(unsigned int v) { return v == NVML_INSTANCE_ID_NONE ? -1 : static_cast<int>(v); }

}  // namespace

Result<Gpu> NvmlMachine::ReadGpu(int index) {
  CARVE_ASSIGN_OR_RETURN(nvmlDevice_t dev, Device(index));
  Gpu g;
  g.index = index;
  CARVE_RETURN_IF_ERROR(ReadIdentity(dev, &g));
  const Known& known = Profiles(dev, g);
  g.model = known.model;
  g.notes = known.notes;
  if (g.model) g.arch = g.arch == mig::Arch::kUnknown ? g.model->arch : g.arch;
  if (g.mig_capable && g.mig.current) {
    CARVE_RETURN_IF_ERROR(ReadInstances(dev, known, &g));
    CARVE_RETURN_IF_ERROR(ReadMigDevices(dev, &g));
  }
  ReadFaults(dev, &g);
  CARVE_RETURN_IF_ERROR(ReadProcesses(dev, &g));
  return g;
}

Status NvmlMachine::ReadIdentity(nvmlDevice_t dev, Gpu* g) {
  int rc = 0;
  std::string where = fmt::format("GPU {}", g->index);
  g->name = Text(fn().nvmlDeviceGetName, dev, &rc);
  CARVE_RETURN_IF_ERROR(FromNvml(rc, where + ": reading its name"));
  g->uuid = Text(fn().nvmlDeviceGetUUID, dev, &rc);
  CARVE_RETURN_IF_ERROR(FromNvml(rc, where + ": reading its UUID"));
  g->serial = Text(fn().nvmlDeviceGetSerial, dev, &rc);  // NOT_SUPPORTED on many boards
  nvmlPciInfo_t pci{};
  rc = Call(fn().nvmlDeviceGetPciInfo_v3, dev, &pci);
  if (rc == NVML_ERROR_FUNCTION_NOT_FOUND) rc = Call(fn().nvmlDeviceGetPciInfo_v2, dev, &pci);
  if (rc == NVML_SUCCESS) g->pci_bus_id = pci.busId, g->pci_device_id = pci.pciDeviceId;
  nvmlMemory_t mem{};
  if (Call(fn().nvmlDeviceGetMemoryInfo, dev, &mem) == NVML_SUCCESS)
    g->memory_total_mib = mem.total / kMiB, g->memory_used_mib = mem.used / kMiB;
  unsigned int arch = NVML_DEVICE_ARCH_UNKNOWN;
  if (Call(fn().nvmlDeviceGetArchitecture, dev, &arch) == NVML_SUCCESS)
    g->arch = ArchOf(arch, g->arch);
  nvmlEnableState_t persistence = NVML_FEATURE_DISABLED;
  if (Call(fn().nvmlDeviceGetPersistenceMode, dev, &persistence) == NVML_SUCCESS)
    g->persistence_mode = persistence == NVML_FEATURE_ENABLED;
  // ECC: NOT_SUPPORTED on cards without it, FUNCTION_NOT_FOUND on a library
  // without the call; either way doctor says it cannot tell.
  nvmlEnableState_t ecc_now = NVML_FEATURE_DISABLED, ecc_next = NVML_FEATURE_DISABLED;
  if (Call(fn().nvmlDeviceGetEccMode, dev, &ecc_now, &ecc_next) == NVML_SUCCESS)
    g->ecc = EccMode{ecc_now == NVML_FEATURE_ENABLED, ecc_next == NVML_FEATURE_ENABLED};
  unsigned int current = 0, pending = 0;
  rc = Call(fn().nvmlDeviceGetMigMode, dev, &current, &pending);
  if (rc != NVML_ERROR_NOT_SUPPORTED)
    CARVE_RETURN_IF_ERROR(FromNvml(rc, where + ": reading its MIG mode"));
  g->mig_capable = rc == NVML_SUCCESS;
  g->mig = {current == NVML_DEVICE_MIG_ENABLE, pending == NVML_DEVICE_MIG_ENABLE};
  return Status::Ok();
}

const NvmlMachine::Known& NvmlMachine::Profiles(nvmlDevice_t dev, const Gpu& g) {
  auto it = known_.find(g.index);
  if (it != known_.end() && it->second.mig_on == g.mig.current) return it->second;
  Known k;
  k.mig_on = g.mig.current;
  const auto& cat = mig::Catalog::Builtin();
  const mig::GpuModel* m = cat.FindByPciId(g.pci_device_id);
  if (!m) m = cat.Find(g.name);
  if (g.mig_capable) k.profiles = ReadProfiles(dev, g.mig.current);
  if (!m) {
    k.notes.push_back(
        fmt::format("not in carve's catalogue (NVML name \"{}\", PCI id 0x{:08X}); "
                    "listed as NVML reports it, but carve will not partition it",
                    g.name, g.pci_device_id));
  } else if (m->mig && !g.mig_capable && InDisplayMode(g)) {
    k.model = m;  // carve doctor explains it
  } else if (m->mig != g.mig_capable) {
    k.notes.push_back(fmt::format("the catalogue says {} {} MIG, NVML says it does{}", m->name,
                                  m->mig ? "supports" : "lacks", g.mig_capable ? "" : " not"));
    k.model = m;
  } else {
    Reconciled r =
        Reconcile(*m, m->mig ? k.profiles : std::vector<NvmlProfile>{}, g.memory_total_mib);
    k.notes = std::move(r.notes);
    k.model = k.notes.empty() ? m : &models_.emplace_back(std::move(r.model));
  }
  return known_[g.index] = std::move(k);
}

std::vector<NvmlProfile> NvmlMachine::ReadProfiles(nvmlDevice_t dev, bool mig_on) {
  std::vector<NvmlProfile> out;
  for (int i = 0; i < NVML_GPU_INSTANCE_PROFILE_COUNT; ++i) {
    NvmlProfile p;
    if (ProfileInfo(fn(), dev, i, mig_on, &p) != NVML_SUCCESS) continue;
    auto placements = fn().nvmlDeviceGetGpuInstancePossiblePlacements_v2
                          ? fn().nvmlDeviceGetGpuInstancePossiblePlacements_v2
                          : fn().nvmlDeviceGetGpuInstancePossiblePlacements;
    unsigned int n = 0;
    if (Call(placements, dev, static_cast<unsigned>(p.id), nullptr, &n) == NVML_SUCCESS && n > 0) {
      std::vector<nvmlGpuInstancePlacement_t> all(n);
      if (placements(dev, static_cast<unsigned>(p.id), all.data(), &n) == NVML_SUCCESS)
        for (unsigned j = 0; j < n && j < all.size(); ++j)
          p.placements.push_back({static_cast<int>(all[j].start), static_cast<int>(all[j].size)});
    }
    out.push_back(std::move(p));
  }
  return out;
}

Status NvmlMachine::ReadInstances(nvmlDevice_t dev, const Known& known, Gpu* g) {
  for (const auto& p : known.profiles) {
    std::vector<nvmlGpuInstance_t> handles;
    int rc = Enumerate(
        &handles, static_cast<unsigned>(p.max_instances), [&](nvmlGpuInstance_t* a, unsigned* n) {
          return Call(fn().nvmlDeviceGetGpuInstances, dev, static_cast<unsigned>(p.id), a, n);
        });
    if (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_NOT_FOUND) continue;
    CARVE_RETURN_IF_ERROR(FromNvml(rc, fmt::format("GPU {}: listing GPU instances", g->index)));
    for (nvmlGpuInstance_t h : handles) {
      nvmlGpuInstanceInfo_t info{};
      CARVE_RETURN_IF_ERROR(FromNvml(Call(fn().nvmlGpuInstanceGetInfo, h, &info),
                                     fmt::format("GPU {}: reading a GPU instance", g->index)));
      GpuInstance gi;
      gi.id = static_cast<int>(info.id);
      gi.profile_id = static_cast<int>(info.profileId);
      const mig::Profile* cp = g->model ? g->model->FindProfileById(gi.profile_id) : nullptr;
      gi.profile = cp ? cp->name : p.name.empty() ? fmt::format("profile id {}", p.id) : p.name;
      gi.placement = {static_cast<int>(info.placement.start),
                      static_cast<int>(info.placement.size)};
      gi.memory_total_mib = p.memory_mib;
      CARVE_RETURN_IF_ERROR(ReadComputeInstances(h, *g, &gi));
      g->gpu_instances.push_back(std::move(gi));
    }
  }
  std::sort(g->gpu_instances.begin(), g->gpu_instances.end(),
            [](auto& a, auto& b) { return a.placement.start < b.placement.start; });
  return Status::Ok();
}

Status NvmlMachine::ReadComputeInstances(nvmlGpuInstance_t h, const Gpu& g, GpuInstance* gi) {
  const mig::Profile* gp = g.model ? g.model->FindProfileById(gi->profile_id) : nullptr;
  for (int i = 0; i < NVML_COMPUTE_INSTANCE_PROFILE_COUNT; ++i) {
    CiProfile cp;
    if (CiProfileInfo(fn(), h, i, &cp) != NVML_SUCCESS) continue;
    if (cp.name.empty() && gp)  // the v1 call has no name: the catalogue's
      for (const auto& c : g.model->ComputeProfilesFor(*gp))
        if (c.id == cp.id) cp.name = c.NameIn(*gp);
    std::vector<nvmlComputeInstance_t> handles;
    int rc = Enumerate(&handles, static_cast<unsigned>(cp.max_instances),
                       [&](nvmlComputeInstance_t* a, unsigned* n) {
                         return Call(fn().nvmlGpuInstanceGetComputeInstances, h,
                                     static_cast<unsigned>(cp.id), a, n);
                       });
    if (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_NOT_FOUND) continue;
    CARVE_RETURN_IF_ERROR(FromNvml(
        rc, fmt::format("GPU {}: listing compute instances of GPU instance {}", g.index, gi->id)));
    for (nvmlComputeInstance_t c : handles) {
      nvmlComputeInstanceInfo_t info{};
      rc = Call(fn().nvmlComputeInstanceGetInfo_v2, c, &info);
      if (rc == NVML_ERROR_FUNCTION_NOT_FOUND) rc = Call(fn().nvmlComputeInstanceGetInfo, c, &info);
      CARVE_RETURN_IF_ERROR(
          FromNvml(rc, fmt::format("GPU {}: reading a compute instance", g.index)));
      gi->compute_instances.push_back(
          {static_cast<int>(info.id),
           static_cast<int>(info.profileId),
           cp.name.empty() ? fmt::format("{}c.{}", cp.slices, gi->profile) : cp.name,
           cp.slices,
           {static_cast<int>(info.placement.start), static_cast<int>(info.placement.size)},
           "",
           cp.sm});
    }
  }
  std::sort(gi->compute_instances.begin(), gi->compute_instances.end(),
            [](auto& a, auto& b) { return a.placement.start < b.placement.start; });
  return Status::Ok();
}

Status NvmlMachine::ReadMigDevices(nvmlDevice_t dev, Gpu* g) {
  unsigned int max = 0;
  CARVE_RETURN_IF_ERROR(FromNvml(Call(fn().nvmlDeviceGetMaxMigDeviceCount, dev, &max),
                                 fmt::format("GPU {}: counting MIG devices", g->index)));
  for (unsigned int j = 0; j < max; ++j) {
    nvmlDevice_t mig = nullptr;
    if (Call(fn().nvmlDeviceGetMigDeviceHandleByIndex, dev, j, &mig) != NVML_SUCCESS)
      continue;  // sparse
    unsigned int gid = 0, cid = 0;
    if (Call(fn().nvmlDeviceGetGpuInstanceId, mig, &gid) != NVML_SUCCESS ||
        Call(fn().nvmlDeviceGetComputeInstanceId, mig, &cid) != NVML_SUCCESS)
      continue;
    for (auto& gi : g->gpu_instances) {
      if (gi.id != static_cast<int>(gid)) continue;
      nvmlMemory_t mem{};
      if (Call(fn().nvmlDeviceGetMemoryInfo, mig, &mem) == NVML_SUCCESS)
        gi.memory_total_mib = mem.total / kMiB, gi.memory_used_mib = mem.used / kMiB;
      int rc = 0;
      for (auto& ci : gi.compute_instances)
        if (ci.id == static_cast<int>(cid)) ci.uuid = Text(fn().nvmlDeviceGetUUID, mig, &rc);
    }
  }
  return Status::Ok();
}

Status NvmlMachine::ReadProcesses(nvmlDevice_t dev, Gpu* g) {
  std::vector<nvmlProcessInfo_t> procs;
  int rc = RunningProcesses(fn(), dev, &procs);
  std::vector<std::pair<nvmlProcessInfo_t, std::pair<int, int>>> found;
  if (rc == NVML_SUCCESS) {
    for (const auto& p : procs)
      found.push_back({p, {Id(p.gpuInstanceId), Id(p.computeInstanceId)}});
  } else if (g->mig.current && (rc == NVML_ERROR_NO_PERMISSION || rc == NVML_ERROR_NOT_SUPPORTED)) {
    for (const auto& gi : g->gpu_instances)  // the aggregate needs privileges; ask each MIG device
      for (const auto& ci : gi.compute_instances) {
        nvmlDevice_t mig = nullptr;
        if (Call(fn().nvmlDeviceGetHandleByUUID, ci.uuid.c_str(), &mig) != NVML_SUCCESS) continue;
        if (RunningProcesses(fn(), mig, &procs) == NVML_SUCCESS)
          for (const auto& p : procs) found.push_back({p, {gi.id, ci.id}});
      }
  } else {
    return FromNvml(rc, fmt::format("GPU {}: listing its processes", g->index));
  }
  for (const auto& [p, ids] : found) {
    uint64_t mib = p.usedGpuMemory == NVML_VALUE_NOT_AVAILABLE ? 0 : p.usedGpuMemory / kMiB;
    g->processes.push_back({p.pid, ProcessName(p.pid), mib, ids.first, ids.second});
  }
  return Status::Ok();
}

std::string NvmlMachine::ProcessName(uint32_t pid) {
  char buf[256] = {};
  std::string name;
  if (Call(fn().nvmlSystemGetProcessName, pid, buf, static_cast<unsigned>(sizeof buf)) ==
      NVML_SUCCESS) {
    name = buf;
  } else if (std::ifstream comm(fmt::format("/proc/{}/comm", pid)); comm) {
    std::getline(comm, name);
  }
  if (size_t slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
  return name.empty() ? "?" : name;
}

}  // namespace carve::device::nvml
