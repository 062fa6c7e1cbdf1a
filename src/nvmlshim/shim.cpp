#include "nvmlshim/shim.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace carve::nvmlshim {

Shim& Shim::Get() {
  static Shim* shim = new Shim;  // never destroyed: handles outlive static teardown
  return *shim;
}

nvmlReturn_t Shim::Init() {
  std::lock_guard<std::mutex> lock(mu);
  if (refs_ > 0) return ++refs_, NVML_SUCCESS;
  const char* env = std::getenv("CARVE_SIM");
  if (!env || !*env) {
    std::fprintf(stderr,
                 "carve NVML drop-in: CARVE_SIM names no simulated machine "
                 "(create one: carve sim new FILE h100-80gb --mig on)\n");
    return NVML_ERROR_DRIVER_NOT_LOADED;
  }
  auto m = device::sim::SimMachine::Open(env);
  if (!m.ok()) {
    std::fprintf(stderr, "carve NVML drop-in: %s\n", m.status().message().c_str());
    return m.status().code() == Code::kNotFound ? NVML_ERROR_DRIVER_NOT_LOADED : NVML_ERROR_UNKNOWN;
  }
  path_ = env;
  machine_ = std::move(m).value();
  refs_ = 1;
  return NVML_SUCCESS;
}

nvmlReturn_t Shim::Shutdown() {
  std::lock_guard<std::mutex> lock(mu);
  if (refs_ > 0 && --refs_ == 0) machine_.reset();
  return NVML_SUCCESS;  // extra calls report no error (as NVML documents)
}

template <typename T, typename Eq>
static T* Intern(std::vector<std::unique_ptr<T>>& table, T value, Eq eq) {
  for (auto& h : table)
    if (eq(*h, value)) return h.get();
  table.push_back(std::make_unique<T>(value));
  return table.back().get();
}

nvmlDevice_t Shim::Device(int gpu, int gi, int ci) {
  return Intern(devices_, nvmlDevice_st{gpu, gi, ci},
                [](auto& a, auto& b) { return a.gpu == b.gpu && a.gi == b.gi && a.ci == b.ci; });
}

nvmlGpuInstance_t Shim::GpuInstance(int gpu, int gi) {
  return Intern(gis_, nvmlGpuInstance_st{gpu, gi},
                [](auto& a, auto& b) { return a.gpu == b.gpu && a.gi == b.gi; });
}

nvmlComputeInstance_t Shim::ComputeInstance(int gpu, int gi, int ci) {
  return Intern(cis_, nvmlComputeInstance_st{gpu, gi, ci},
                [](auto& a, auto& b) { return a.gpu == b.gpu && a.gi == b.gi && a.ci == b.ci; });
}

bool Shim::Issued(const void* h) const {
  auto in = [h](const auto& table) {
    return std::any_of(table.begin(), table.end(), [h](auto& p) { return p.get() == h; });
  };
  return h && (in(devices_) || in(gis_) || in(cis_));
}

nvmlReturn_t ToNvml(const Status& st) {
  switch (st.code()) {
    case Code::kOk:
      return NVML_SUCCESS;
    case Code::kInvalidArgument:
      return NVML_ERROR_INVALID_ARGUMENT;
    case Code::kNotFound:
      return NVML_ERROR_NOT_FOUND;
    case Code::kNotSupported:
      return NVML_ERROR_NOT_SUPPORTED;
    case Code::kInUse:
      return NVML_ERROR_IN_USE;
    case Code::kInsufficientResources:
      return NVML_ERROR_INSUFFICIENT_RESOURCES;
    case Code::kResetRequired:
      return NVML_ERROR_RESET_REQUIRED;
    case Code::kNoPermission:
      return NVML_ERROR_NO_PERMISSION;
    case Code::kTimeout:
      return NVML_ERROR_TIMEOUT;
    case Code::kAlreadyExists:
      return NVML_ERROR_IN_USE;
    default:
      return NVML_ERROR_UNKNOWN;
  }
}

nvmlReturn_t CopyString(std::string_view s, char* buf, unsigned int length) {
  if (!buf) return NVML_ERROR_INVALID_ARGUMENT;
  if (s.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return NVML_SUCCESS;
}

nvmlReturn_t CheckRoom(unsigned int n, const void* array, unsigned int* count) {
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  if (*count < n) {
    *count = n;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  if (!array && n > 0) return NVML_ERROR_INVALID_ARGUMENT;
  *count = n;
  return NVML_SUCCESS;
}

nvmlReturn_t SetCount(unsigned int n, const void* array, unsigned int* count, bool null_sizes) {
  if (!count || (!array && !null_sizes)) return NVML_ERROR_INVALID_ARGUMENT;
  *count = n;
  return NVML_SUCCESS;
}

nvmlReturn_t LoadGpu(device::sim::SimMachine& m, int gpu, int gi, int ci, Dev* out) {
  auto g = m.GetGpu(gpu);
  if (!g.ok())
    return g.status().code() == Code::kNotFound ? NVML_ERROR_INVALID_ARGUMENT : ToNvml(g.status());
  out->gpu = std::move(g).value();
  if (gi < 0) return NVML_SUCCESS;
  for (const auto& x : out->gpu.gpu_instances)
    if (x.id == gi) out->gi = &x;
  if (!out->gi || !out->gpu.model) return NVML_ERROR_INVALID_ARGUMENT;  // destroyed meanwhile
  out->profile = out->gpu.model->FindProfileById(out->gi->profile_id);
  if (ci < 0) return out->profile ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
  for (const auto& x : out->gi->compute_instances)
    if (x.id == ci) out->ci = &x;
  if (!out->ci) return NVML_ERROR_INVALID_ARGUMENT;
  for (const auto& cp : out->gpu.model->ComputeProfilesFor(*out->profile))
    if (cp.id == out->ci->profile_id) out->ci_profile = &cp;
  return out->ci_profile ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

nvmlReturn_t Load(device::sim::SimMachine& m, nvmlDevice_t h, Dev* out) {
  if (!Shim::Get().Issued(h)) return NVML_ERROR_INVALID_ARGUMENT;
  return LoadGpu(m, h->gpu, h->gi, h->ci, out);
}

nvmlReturn_t Load(device::sim::SimMachine& m, nvmlGpuInstance_t h, Dev* out) {
  if (!Shim::Get().Issued(h)) return NVML_ERROR_INVALID_ARGUMENT;
  return LoadGpu(m, h->gpu, h->gi, -1, out);
}

nvmlReturn_t Load(device::sim::SimMachine& m, nvmlComputeInstance_t h, Dev* out) {
  if (!Shim::Get().Issued(h)) return NVML_ERROR_INVALID_ARGUMENT;
  return LoadGpu(m, h->gpu, h->gi, h->ci, out);
}

unsigned int MaxMigDevices(const device::Gpu& gpu) {
  if (!gpu.model || !gpu.mig_capable || !gpu.mig.current) return 0;
  return static_cast<unsigned int>(gpu.model->compute_slices);
}

// A MIG device answers to the index of its first compute slice on the GPU
// (on 8-unit GPUs the GI's memory start is its first compute slice), so the
// indices have holes wherever a compute instance spans several slices.
std::vector<MigSlot> MigSlots(const device::Gpu& gpu) {
  std::vector<MigSlot> out;
  unsigned int max = MaxMigDevices(gpu);
  if (max == 0) return out;
  int units = gpu.model->placement_units, cs = gpu.model->compute_slices;
  std::set<unsigned int> taken;
  for (const auto& gi : gpu.gpu_instances) {
    int base =
        units <= cs + 1 ? std::min(gi.placement.start, cs - 1) : gi.placement.start * cs / units;
    for (const auto& ci : gi.compute_instances) {
      unsigned int slot = static_cast<unsigned int>(base + ci.placement.start);
      while (slot >= max || taken.count(slot)) slot = slot >= max ? 0 : slot + 1;
      taken.insert(slot);
      out.push_back({slot, &gi, &ci});
    }
  }
  return out;
}

std::string MigName(std::string_view profile) { return "MIG " + std::string(profile); }

}  // namespace carve::nvmlshim
