// Drop-in entry points for MIG mode, GPU-instance profiles and GPU instances.
// Profiles come from carve's catalogue, so placements, counts and engines are
// the real ones; creates and destroys are the simulator's, so it refuses
// where the driver refuses.
#include "device/slices.h"
#include "mig/layout.h"
#include "nvmlshim/shim.h"

using namespace carve::nvmlshim;
using carve::mig::Profile;
using SimMachine = carve::device::sim::SimMachine;

namespace {

// A physical GPU's handle, resolved; MIG device handles are refused.
template <typename Fn>
nvmlReturn_t OnGpu(nvmlDevice_t h, Fn&& fn) {
  return WithHandle(h, [&](SimMachine& m, const Dev& d) {
    return d.gi ? NVML_ERROR_INVALID_ARGUMENT : fn(m, d);
  });
}

// A Workstation edition in display mode reports MIG as not supported.
nvmlReturn_t NeedMigCapable(const Dev& d) {
  return d.gpu.model && d.gpu.mig_capable ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}
nvmlReturn_t NeedMigOn(const Dev& d) {
  return NeedMigCapable(d) == NVML_SUCCESS && d.gpu.mig.current ? NVML_SUCCESS
                                                                : NVML_ERROR_NOT_SUPPORTED;
}

// The profile at NVML_GPU_INSTANCE_PROFILE_* `index`.
nvmlReturn_t ByIndex(const Dev& d, unsigned int index, bool need_on, const Profile** p) {
  if (index >= NVML_GPU_INSTANCE_PROFILE_COUNT) return NVML_ERROR_INVALID_ARGUMENT;
  if (nvmlReturn_t rc = need_on ? NeedMigOn(d) : NeedMigCapable(d); rc != NVML_SUCCESS) return rc;
  *p = d.gpu.model->FindProfileByNvml(static_cast<int>(index));
  return *p ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

// The profile with device profile id `id`.
nvmlReturn_t ById(const Dev& d, unsigned int id, bool need_on, const Profile** p) {
  if (nvmlReturn_t rc = need_on ? NeedMigOn(d) : NeedMigCapable(d); rc != NVML_SUCCESS) return rc;
  *p = d.gpu.model->FindProfileById(static_cast<int>(id));
  return *p ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

template <typename Info>
void FillCommon(const Profile& p, Info* info) {
  info->id = static_cast<unsigned int>(p.id);
  info->sliceCount = static_cast<unsigned int>(p.slices);
  info->instanceCount = static_cast<unsigned int>(p.max_instances);
  info->multiprocessorCount = static_cast<unsigned int>(p.sm);
  info->copyEngineCount = static_cast<unsigned int>(p.engines.ce);
  info->decoderCount = static_cast<unsigned int>(p.engines.dec);
  info->encoderCount = static_cast<unsigned int>(p.engines.enc);
  info->jpegCount = static_cast<unsigned int>(p.engines.jpeg);
  info->ofaCount = static_cast<unsigned int>(p.engines.ofa);
  info->memorySizeMB = p.memory_mib;
}

bool Graphics(const Profile& p) { return p.nvml_profile_name.find("GFX") != std::string::npos; }

// v2 and v3 share a size but not a layout: the caller's version picks one.
nvmlReturn_t FillVersioned(const Profile& p, nvmlGpuInstanceProfileInfo_v2_t* info) {
  if (!info) return NVML_ERROR_INVALID_ARGUMENT;
  if (info->version == nvmlGpuInstanceProfileInfo_v2) {
    *info = {};
    info->version = nvmlGpuInstanceProfileInfo_v2;
    FillCommon(p, info);
    CopyString(MigName(p.name), info->name, sizeof info->name);
    return NVML_SUCCESS;
  }
  if (info->version == nvmlGpuInstanceProfileInfo_v3) {
    auto* v3 = reinterpret_cast<nvmlGpuInstanceProfileInfo_v3_t*>(info);
    *v3 = {};
    v3->version = nvmlGpuInstanceProfileInfo_v3;
    FillCommon(p, v3);
    CopyString(MigName(p.name), v3->name, sizeof v3->name);
    v3->capabilities = Graphics(p) ? NVML_GPU_INSTANCE_PROFILE_CAPS_GFX : 0;
    return NVML_SUCCESS;
  }
  return NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t Placements(nvmlDevice_t h, unsigned int id, nvmlGpuInstancePlacement_t* out,
                        unsigned int* count) {
  return OnGpu(h, [&](SimMachine&, const Dev& d) {
    const Profile* p = nullptr;
    if (nvmlReturn_t rc = ById(d, id, false, &p); rc != NVML_SUCCESS) return rc;
    unsigned int n = static_cast<unsigned int>(p->placements.size());
    if (nvmlReturn_t rc = SetCount(n, out, count, /*null_sizes=*/true); rc != NVML_SUCCESS || !out)
      return rc;
    for (unsigned int i = 0; i < n; ++i)
      out[i] = {static_cast<unsigned int>(p->placements[i].start),
                static_cast<unsigned int>(p->placements[i].size)};
    return NVML_SUCCESS;
  });
}

nvmlReturn_t Create(nvmlDevice_t h, unsigned int id, const nvmlGpuInstancePlacement_t* where,
                    bool placed, nvmlGpuInstance_t* out) {
  return OnGpu(h, [&](SimMachine& m, const Dev& d) {
    if (!out || (placed && !where)) return NVML_ERROR_INVALID_ARGUMENT;
    const Profile* p = nullptr;
    if (nvmlReturn_t rc = ById(d, id, true, &p); rc != NVML_SUCCESS) return rc;
    std::optional<int> start;
    if (placed) {
      if (where->size != static_cast<unsigned int>(p->size()) || where->start > 64 ||
          !p->LegalStart(static_cast<int>(where->start)))
        return NVML_ERROR_INVALID_ARGUMENT;
      start = static_cast<int>(where->start);
    }
    auto gi = m.CreateGpuInstance(d.gpu.index, p->id, start);
    if (!gi.ok()) return ToNvml(gi.status());
    *out = Shim::Get().GpuInstance(d.gpu.index, gi->id);
    return NVML_SUCCESS;
  });
}

}  // namespace

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t h, unsigned int* current,
                                              unsigned int* pending) {
  return OnGpu(h, [&](SimMachine&, const Dev& d) {
    if (!current || !pending) return NVML_ERROR_INVALID_ARGUMENT;
    if (nvmlReturn_t rc = NeedMigCapable(d); rc != NVML_SUCCESS) return rc;
    *current = d.gpu.mig.current ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
    *pending = d.gpu.mig.pending ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceSetMigMode(nvmlDevice_t h, unsigned int mode,
                                              nvmlReturn_t* activation) {
  return OnGpu(h, [&](SimMachine& m, const Dev& d) {
    if (!activation || mode > NVML_DEVICE_MIG_ENABLE) return NVML_ERROR_INVALID_ARGUMENT;
    if (nvmlReturn_t rc = NeedMigCapable(d); rc != NVML_SUCCESS) return rc;
    auto change = m.SetMigMode(d.gpu.index, mode == NVML_DEVICE_MIG_ENABLE);
    if (!change.ok()) return ToNvml(change.status());
    *activation = ToNvml(change->activation);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t h, unsigned int index,
                                                             nvmlGpuInstanceProfileInfo_t* info) {
  return OnGpu(h, [&](SimMachine&, const Dev& d) {
    const Profile* p = nullptr;
    if (nvmlReturn_t rc = ByIndex(d, index, false, &p); rc != NVML_SUCCESS) return rc;
    if (!info) return NVML_ERROR_INVALID_ARGUMENT;
    *info = {};
    FillCommon(*p, info);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoV(
    nvmlDevice_t h, unsigned int index, nvmlGpuInstanceProfileInfo_v2_t* info) {
  return OnGpu(h, [&](SimMachine&, const Dev& d) {
    const Profile* p = nullptr;
    if (nvmlReturn_t rc = ByIndex(d, index, true, &p); rc != NVML_SUCCESS) return rc;
    return FillVersioned(*p, info);
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoByIdV(
    nvmlDevice_t h, unsigned int id, nvmlGpuInstanceProfileInfo_v2_t* info) {
  return OnGpu(h, [&](SimMachine&, const Dev& d) {
    const Profile* p = nullptr;
    if (nvmlReturn_t rc = ById(d, id, true, &p); rc != NVML_SUCCESS) return rc;
    return FillVersioned(*p, info);
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements_v2(
    nvmlDevice_t h, unsigned int id, nvmlGpuInstancePlacement_t* out, unsigned int* count) {
  return Placements(h, id, out, count);
}
NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements(nvmlDevice_t h, unsigned int id,
                                                                    nvmlGpuInstancePlacement_t* out,
                                                                    unsigned int* count) {
  return Placements(h, id, out, count);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t h, unsigned int id,
                                                                   unsigned int* count) {
  return OnGpu(h, [&](SimMachine&, const Dev& d) {
    const Profile* p = nullptr;
    if (nvmlReturn_t rc = ById(d, id, true, &p); rc != NVML_SUCCESS) return rc;
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    auto slices = carve::device::SlicesOf(d.gpu);
    *count = static_cast<unsigned int>(carve::mig::RemainingCapacity(*d.gpu.model, slices, *p));
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceCreateGpuInstance(nvmlDevice_t h, unsigned int id,
                                                     nvmlGpuInstance_t* out) {
  return Create(h, id, nullptr, false, out);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceCreateGpuInstanceWithPlacement(
    nvmlDevice_t h, unsigned int id, const nvmlGpuInstancePlacement_t* where,
    nvmlGpuInstance_t* out) {
  return Create(h, id, where, true, out);
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t h) {
  return WithHandle(h, [&](SimMachine& m, const Dev& d) {
    return ToNvml(m.DestroyGpuInstance(d.gpu.index, d.gi->id));
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t h, unsigned int id,
                                                   nvmlGpuInstance_t* out, unsigned int* count) {
  return OnGpu(h, [&](SimMachine&, const Dev& d) {
    const Profile* p = nullptr;
    if (nvmlReturn_t rc = ById(d, id, true, &p); rc != NVML_SUCCESS) return rc;
    std::vector<int> ids;
    for (const auto& gi : d.gpu.gpu_instances)
      if (gi.profile_id == p->id) ids.push_back(gi.id);
    if (nvmlReturn_t rc = SetCount(static_cast<unsigned int>(ids.size()), out, count,
                                   /*null_sizes=*/false);
        rc != NVML_SUCCESS)
      return rc;
    for (size_t i = 0; i < ids.size(); ++i) out[i] = Shim::Get().GpuInstance(d.gpu.index, ids[i]);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t h, unsigned int id,
                                                      nvmlGpuInstance_t* out) {
  return OnGpu(h, [&](SimMachine&, const Dev& d) {
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    if (nvmlReturn_t rc = NeedMigOn(d); rc != NVML_SUCCESS) return rc;
    for (const auto& gi : d.gpu.gpu_instances)
      if (gi.id == static_cast<int>(id))
        return *out = Shim::Get().GpuInstance(d.gpu.index, gi.id), NVML_SUCCESS;
    return NVML_ERROR_NOT_FOUND;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t h, nvmlGpuInstanceInfo_t* info) {
  return WithHandle(h, [&](SimMachine& m, const Dev& d) {
    if (!info) return NVML_ERROR_INVALID_ARGUMENT;
    info->device = Shim::Get().Device(d.gpu.index);
    info->id = static_cast<unsigned int>(d.gi->id);
    info->profileId = static_cast<unsigned int>(d.gi->profile_id);
    info->placement = {static_cast<unsigned int>(d.gi->placement.start),
                       static_cast<unsigned int>(d.gi->placement.size)};
    return NVML_SUCCESS;
  });
}
