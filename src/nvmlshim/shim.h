// The drop-in libnvidia-ml.so.1: NVML's C ABI over carve's simulator. Every
// exported function runs under Run(): one process-wide mutex, a check that
// nvmlInit happened, and a fresh snapshot of the simulated machine (the state
// file named by CARVE_SIM, shared with carve and other NVML processes under
// its file lock). Nothing here throws out of an entry point.
//
// Handles are pointers into tables that live for the process: one handle per
// GPU index, per (GPU, GI id) and per (GPU, GI id, CI id), so the same object
// always has the same handle. A handle whose instance is gone answers
// NVML_ERROR_INVALID_ARGUMENT; a pointer the shim never issued does too.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "device/nvml/nvml_api.h"
#include "device/sim/sim_machine.h"

// What the opaque NVML handles point to in the drop-in.
struct nvmlDevice_st {
  int gpu = 0;
  int gi = -1;  // >= 0: a MIG device (the compute instance gi/ci)
  int ci = -1;
};
struct nvmlGpuInstance_st {
  int gpu = 0;
  int gi = 0;
};
struct nvmlComputeInstance_st {
  int gpu = 0;
  int gi = 0;
  int ci = 0;
};

#define NVML_EXPORT extern "C" __attribute__((visibility("default")))

namespace carve::nvmlshim {

class Shim {
 public:
  static Shim& Get();
  // Reference-counted: the first Init opens $CARVE_SIM, the last Shutdown drops it.
  nvmlReturn_t Init();
  nvmlReturn_t Shutdown();
  device::sim::SimMachine* machine() { return machine_.get(); }
  const std::string& path() const { return path_; }

  nvmlDevice_t Device(int gpu, int gi = -1, int ci = -1);
  nvmlGpuInstance_t GpuInstance(int gpu, int gi);
  nvmlComputeInstance_t ComputeInstance(int gpu, int gi, int ci);
  bool Issued(const void* handle) const;

  std::mutex mu;

 private:
  int refs_ = 0;
  std::string path_;
  std::unique_ptr<device::sim::SimMachine> machine_;
  std::vector<std::unique_ptr<nvmlDevice_st>> devices_;
  std::vector<std::unique_ptr<nvmlGpuInstance_st>> gis_;
  std::vector<std::unique_ptr<nvmlComputeInstance_st>> cis_;
};

// Runs one entry point: locked, initialised, exceptions become UNKNOWN.
template <typename Fn>
nvmlReturn_t Run(Fn&& fn) {
  Shim& s = Shim::Get();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.machine()) return NVML_ERROR_UNINITIALIZED;
  try {
    return fn(*s.machine());
  } catch (...) {
    return NVML_ERROR_UNKNOWN;
  }
}

// The NVML code for a simulator refusal.
nvmlReturn_t ToNvml(const Status& status);
// Copies `s` and its NUL into `buf`: INSUFFICIENT_SIZE when it does not fit.
nvmlReturn_t CopyString(std::string_view s, char* buf, unsigned int length);
// The two-call protocol's check, for the calls whose count is read on entry
// (running processes): INSUFFICIENT_SIZE (with *count = n) when the caller's
// array is too small, INVALID_ARGUMENT when it is missing.
nvmlReturn_t CheckRoom(unsigned int n, const void* array, unsigned int* count);
// For the calls whose `*count` is an output only (nvml.h: GetGpuInstances and
// GetComputeInstances, whose array must hold the profile's instanceCount; the
// possible-placements calls, whose array must hold every placement): nothing
// is read on entry, so a count of 0 or garbage is fine, and INSUFFICIENT_SIZE
// is never the answer. A null array is INVALID_ARGUMENT, except where nvml.h
// lets it ask for the count alone (`null_sizes`).
nvmlReturn_t SetCount(unsigned int n, const void* array, unsigned int* count, bool null_sizes);

// A handle resolved against a fresh snapshot. Not copyable: the pointers
// point into `gpu`.
struct Dev {
  Dev() = default;
  Dev(const Dev&) = delete;
  device::Gpu gpu;
  const device::GpuInstance* gi = nullptr;  // set for a MIG device
  const device::ComputeInstance* ci = nullptr;
  const mig::Profile* profile = nullptr;  // the GI's profile
  const mig::ComputeProfile* ci_profile = nullptr;
};
nvmlReturn_t LoadGpu(device::sim::SimMachine& m, int gpu, int gi, int ci, Dev* out);
nvmlReturn_t Load(device::sim::SimMachine& m, nvmlDevice_t h, Dev* out);
nvmlReturn_t Load(device::sim::SimMachine& m, nvmlGpuInstance_t h, Dev* out);
nvmlReturn_t Load(device::sim::SimMachine& m, nvmlComputeInstance_t h, Dev* out);

// Runs fn(machine, dev) on a fresh snapshot of what handle `h` names.
template <typename Handle, typename Fn>
nvmlReturn_t WithHandle(Handle h, Fn&& fn) {
  return Run([&](device::sim::SimMachine& m) {
    Dev d;
    if (nvmlReturn_t rc = Load(m, h, &d); rc != NVML_SUCCESS) return rc;
    return fn(m, d);
  });
}
// Runs fn(dev) for a device handle: a physical GPU or a MIG device.
template <typename Fn>
nvmlReturn_t OnDevice(nvmlDevice_t h, Fn&& fn) {
  return WithHandle(h, [&](device::sim::SimMachine&, const Dev& d) { return fn(d); });
}

// MIG devices of a GPU and the sparse index each answers to.
struct MigSlot {
  unsigned int index = 0;
  const device::GpuInstance* gi = nullptr;
  const device::ComputeInstance* ci = nullptr;
};
std::vector<MigSlot> MigSlots(const device::Gpu& gpu);
unsigned int MaxMigDevices(const device::Gpu& gpu);

// "MIG 1g.10gb": the name NVML gives a profile.
std::string MigName(std::string_view profile);

}  // namespace carve::nvmlshim
