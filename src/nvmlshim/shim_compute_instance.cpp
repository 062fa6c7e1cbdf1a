// Drop-in entry points for compute-instance profiles and compute instances.
#include <algorithm>

#include "nvmlshim/shim.h"

using namespace carve::nvmlshim;
using carve::mig::ComputeProfile;
using SimMachine = carve::device::sim::SimMachine;

namespace {

const std::vector<ComputeProfile>& Profiles(const Dev& d) {
  return d.gpu.model->ComputeProfilesFor(*d.profile);
}

// The profile at NVML_COMPUTE_INSTANCE_PROFILE_* `index` in this GI.
nvmlReturn_t ByIndex(const Dev& d, unsigned int index, unsigned int eng,
                     const ComputeProfile** cp) {
  if (index >= NVML_COMPUTE_INSTANCE_PROFILE_COUNT ||
      eng >= NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT)
    return NVML_ERROR_INVALID_ARGUMENT;
  for (const auto& c : Profiles(d))
    if (c.nvml_profile == static_cast<int>(index)) return *cp = &c, NVML_SUCCESS;
  return NVML_ERROR_NOT_SUPPORTED;
}

nvmlReturn_t ById(const Dev& d, unsigned int id, const ComputeProfile** cp) {
  for (const auto& c : Profiles(d))
    if (c.id == static_cast<int>(id)) return *cp = &c, NVML_SUCCESS;
  return NVML_ERROR_NOT_SUPPORTED;
}

template <typename Info>
void FillCommon(const Dev& d, const ComputeProfile& c, Info* info) {
  const auto& e = d.profile->engines;
  info->id = static_cast<unsigned int>(c.id);
  info->sliceCount = static_cast<unsigned int>(c.slices);
  info->instanceCount = static_cast<unsigned int>(c.max_instances);
  info->multiprocessorCount = static_cast<unsigned int>(c.is_default ? d.profile->sm : c.sm);
  info->sharedCopyEngineCount = static_cast<unsigned int>(e.ce);
  info->sharedDecoderCount = static_cast<unsigned int>(e.dec);
  info->sharedEncoderCount = static_cast<unsigned int>(e.enc);
  info->sharedJpegCount = static_cast<unsigned int>(e.jpeg);
  info->sharedOfaCount = static_cast<unsigned int>(e.ofa);
}

// Compute slices of the GI its compute instances hold, as a bit mask.
uint64_t Held(const Dev& d) {
  uint64_t held = 0;
  for (const auto& ci : d.gi->compute_instances)
    held |= ((uint64_t{1} << ci.placement.size) - 1) << ci.placement.start;
  return held;
}

unsigned int Remaining(const Dev& d, const ComputeProfile& c) {
  int same =
      static_cast<int>(std::count_if(d.gi->compute_instances.begin(), d.gi->compute_instances.end(),
                                     [&](auto& ci) { return ci.profile_id == c.id; }));
  uint64_t held = Held(d);
  int fit = 0;
  for (const auto& pl : c.placements) {
    uint64_t mask = ((uint64_t{1} << pl.size) - 1) << pl.start;
    if (!(mask & held)) held |= mask, ++fit;
  }
  return static_cast<unsigned int>(std::max(0, std::min(fit, c.max_instances - same)));
}

nvmlReturn_t Create(nvmlGpuInstance_t h, unsigned int id,
                    const nvmlComputeInstancePlacement_t* where, bool placed,
                    nvmlComputeInstance_t* out) {
  return WithHandle(h, [&](SimMachine& m, const Dev& d) {
    if (!out || (placed && !where)) return NVML_ERROR_INVALID_ARGUMENT;
    const ComputeProfile* c = nullptr;
    if (nvmlReturn_t rc = ById(d, id, &c); rc != NVML_SUCCESS) return rc;
    std::optional<int> start;
    if (placed) {
      bool legal = std::any_of(c->placements.begin(), c->placements.end(), [&](auto& pl) {
        return pl.start == static_cast<int>(where->start) &&
               pl.size == static_cast<int>(where->size);
      });
      if (!legal) return NVML_ERROR_INVALID_ARGUMENT;
      start = static_cast<int>(where->start);
    }
    auto ci = m.CreateComputeInstance(d.gpu.index, d.gi->id, c->id, start);
    if (!ci.ok()) return ToNvml(ci.status());
    *out = Shim::Get().ComputeInstance(d.gpu.index, d.gi->id, ci->id);
    return NVML_SUCCESS;
  });
}

}  // namespace

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfo(
    nvmlGpuInstance_t h, unsigned int index, unsigned int eng,
    nvmlComputeInstanceProfileInfo_t* info) {
  return WithHandle(h, [&](SimMachine&, const Dev& d) {
    const ComputeProfile* c = nullptr;
    if (nvmlReturn_t rc = ByIndex(d, index, eng, &c); rc != NVML_SUCCESS) return rc;
    if (!info) return NVML_ERROR_INVALID_ARGUMENT;
    *info = {};
    FillCommon(d, *c, info);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfoV(
    nvmlGpuInstance_t h, unsigned int index, unsigned int eng,
    nvmlComputeInstanceProfileInfo_v2_t* info) {
  return WithHandle(h, [&](SimMachine&, const Dev& d) {
    const ComputeProfile* c = nullptr;
    if (nvmlReturn_t rc = ByIndex(d, index, eng, &c); rc != NVML_SUCCESS) return rc;
    if (!info) return NVML_ERROR_INVALID_ARGUMENT;
    std::string name = MigName(c->NameIn(*d.profile));
    if (info->version == nvmlComputeInstanceProfileInfo_v2) {
      *info = {};
      info->version = nvmlComputeInstanceProfileInfo_v2;
      FillCommon(d, *c, info);
      return CopyString(name, info->name, sizeof info->name);
    }
    if (info->version == nvmlComputeInstanceProfileInfo_v3) {  // 4 bytes longer than v2
      auto* v3 = reinterpret_cast<nvmlComputeInstanceProfileInfo_v3_t*>(info);
      *v3 = {};
      v3->version = nvmlComputeInstanceProfileInfo_v3;
      FillCommon(d, *c, v3);
      v3->capabilities = 0;  // no graphics-capable compute instances in the catalogue
      return CopyString(name, v3->name, sizeof v3->name);
    }
    return NVML_ERROR_INVALID_ARGUMENT;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceRemainingCapacity(nvmlGpuInstance_t h,
                                                                            unsigned int id,
                                                                            unsigned int* count) {
  return WithHandle(h, [&](SimMachine&, const Dev& d) {
    const ComputeProfile* c = nullptr;
    if (nvmlReturn_t rc = ById(d, id, &c); rc != NVML_SUCCESS) return rc;
    if (!count) return NVML_ERROR_INVALID_ARGUMENT;
    *count = Remaining(d, *c);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstancePossiblePlacements(
    nvmlGpuInstance_t h, unsigned int id, nvmlComputeInstancePlacement_t* out,
    unsigned int* count) {
  return WithHandle(h, [&](SimMachine&, const Dev& d) {
    const ComputeProfile* c = nullptr;
    if (nvmlReturn_t rc = ById(d, id, &c); rc != NVML_SUCCESS) return rc;
    unsigned int n = static_cast<unsigned int>(c->placements.size());
    if (nvmlReturn_t rc = SetCount(n, out, count, /*null_sizes=*/true); rc != NVML_SUCCESS || !out)
      return rc;
    for (unsigned int i = 0; i < n; ++i)
      out[i] = {static_cast<unsigned int>(c->placements[i].start),
                static_cast<unsigned int>(c->placements[i].size)};
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceCreateComputeInstance(nvmlGpuInstance_t h, unsigned int id,
                                                              nvmlComputeInstance_t* out) {
  return Create(h, id, nullptr, false, out);
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceCreateComputeInstanceWithPlacement(
    nvmlGpuInstance_t h, unsigned int id, const nvmlComputeInstancePlacement_t* where,
    nvmlComputeInstance_t* out) {
  return Create(h, id, where, true, out);
}

NVML_EXPORT nvmlReturn_t nvmlComputeInstanceDestroy(nvmlComputeInstance_t h) {
  return WithHandle(h, [&](SimMachine& m, const Dev& d) {
    return ToNvml(m.DestroyComputeInstance(d.gpu.index, d.gi->id, d.ci->id));
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstances(nvmlGpuInstance_t h, unsigned int id,
                                                            nvmlComputeInstance_t* out,
                                                            unsigned int* count) {
  return WithHandle(h, [&](SimMachine&, const Dev& d) {
    const ComputeProfile* c = nullptr;
    if (nvmlReturn_t rc = ById(d, id, &c); rc != NVML_SUCCESS) return rc;
    std::vector<int> ids;
    for (const auto& ci : d.gi->compute_instances)
      if (ci.profile_id == c->id) ids.push_back(ci.id);
    if (nvmlReturn_t rc = SetCount(static_cast<unsigned int>(ids.size()), out, count,
                                   /*null_sizes=*/false);
        rc != NVML_SUCCESS)
      return rc;
    for (size_t i = 0; i < ids.size(); ++i)
      out[i] = Shim::Get().ComputeInstance(d.gpu.index, d.gi->id, ids[i]);
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceById(nvmlGpuInstance_t h, unsigned int id,
                                                               nvmlComputeInstance_t* out) {
  return WithHandle(h, [&](SimMachine&, const Dev& d) {
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    for (const auto& ci : d.gi->compute_instances)
      if (ci.id == static_cast<int>(id))
        return *out = Shim::Get().ComputeInstance(d.gpu.index, d.gi->id, ci.id), NVML_SUCCESS;
    return NVML_ERROR_NOT_FOUND;
  });
}

static nvmlReturn_t CiInfo(nvmlComputeInstance_t h, nvmlComputeInstanceInfo_t* info) {
  return WithHandle(h, [&](SimMachine& m, const Dev& d) {
    if (!info) return NVML_ERROR_INVALID_ARGUMENT;
    info->device = Shim::Get().Device(d.gpu.index);
    info->gpuInstance = Shim::Get().GpuInstance(d.gpu.index, d.gi->id);
    info->id = static_cast<unsigned int>(d.ci->id);
    info->profileId = static_cast<unsigned int>(d.ci->profile_id);
    info->placement = {static_cast<unsigned int>(d.ci->placement.start),
                       static_cast<unsigned int>(d.ci->placement.size)};
    return NVML_SUCCESS;
  });
}
NVML_EXPORT nvmlReturn_t nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t h,
                                                       nvmlComputeInstanceInfo_t* info) {
  return CiInfo(h, info);
}
NVML_EXPORT nvmlReturn_t nvmlComputeInstanceGetInfo(nvmlComputeInstance_t h,
                                                    nvmlComputeInstanceInfo_t* info) {
  return CiInfo(h, info);
}
