// NvmlMachine: the Machine of a real host, through NVIDIA's NVML loaded at run
// time (nvml_library.h). Reads build each Gpu from what NVML reports; where
// carve's catalogue knows the GPU, the catalogue's model is corrected to
// NVML's profile table (NVML wins) and every difference becomes a note on the
// Gpu. A GPU the catalogue lacks is still listed, with model == nullptr.
// Refusals are worded like the simulator's where NVML's code and the current
// layout explain them, so both backends read the same; NVML codes become
// carve errors only here (nvml_errors.h).
//
// The same code runs against carve's drop-in libnvidia-ml.so.1; when it is
// loaded, ChangeLockPath() and StopProcess() use the simulator's own (the
// drop-in's carveSim* extensions). One thread at a time.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "device/machine.h"
#include "device/nvml/nvml_library.h"
#include "device/nvml/nvml_reconcile.h"

namespace carve::device::nvml {

class NvmlMachine : public Machine {
 public:
  static constexpr const char* kLibrary = "libnvidia-ml.so.1";
  // Loads NVML from `library` and starts it; kUnavailable when it cannot.
  static Result<std::unique_ptr<NvmlMachine>> Open(const std::string& library = kLibrary);

  // A machine over an already loaded library (tests: a fake NVML).
  static std::unique_ptr<NvmlMachine> Over(std::unique_ptr<NvmlLibrary> lib) {
    return std::unique_ptr<NvmlMachine>(new NvmlMachine(std::move(lib)));
  }
  // How many GPUs NVML sees.
  Result<int> DeviceCount();
  // True when the library is carve's drop-in over the simulator.
  bool simulated() const { return !lib_->sim_state().empty(); }

  Result<DriverInfo> Driver() override;
  std::string ChangeLockPath() const override;
  Result<std::vector<Gpu>> Gpus() override;
  Result<Gpu> GetGpu(int index) override;
  Result<ModeChange> SetMigMode(int gpu, bool enabled) override;
  Status ResetGpu(int gpu) override;
  Result<GpuInstance> CreateGpuInstance(int gpu, int profile_id, std::optional<int> start) override;
  Status DestroyGpuInstance(int gpu, int gi) override;
  Result<ComputeInstance> CreateComputeInstance(int gpu, int gi, int ci_profile_id,
                                                std::optional<int> start) override;
  Status DestroyComputeInstance(int gpu, int gi, int ci) override;
  Status StopProcess(int gpu, uint32_t pid, int grace_ms) override;
  // NVML's GPM per GPU instance (nvml_utilisation.cpp).
  Result<std::vector<SliceUtilisation>> ReadUtilisation(int gpu) override;

 private:
  // A GPM sample buffer, freed with the machine (before the library goes).
  struct GpmSample {
    const NvmlFunctions* fn = nullptr;
    nvmlGpmSample_t handle = nullptr;
    GpmSample() = default;
    GpmSample(const GpmSample&) = delete;
    GpmSample& operator=(const GpmSample&) = delete;
    ~GpmSample() {
      if (handle) Call(fn->nvmlGpmSampleFree, handle);
    }
  };
  Result<std::unique_ptr<GpmSample>> TakeGpmSample(nvmlDevice_t dev, int gi);
  Result<Utilisation> GpmMetrics(const GpmSample& a, const GpmSample& b);
  // What one GPU's profile table reconciles to; cached per GPU and MIG mode
  // (NVML fixes the table for the lifetime of a MIG mode).
  struct Known {
    bool mig_on = false;
    std::vector<NvmlProfile> profiles;
    const mig::GpuModel* model = nullptr;
    std::vector<std::string> notes;
  };

  explicit NvmlMachine(std::unique_ptr<NvmlLibrary> lib) : lib_(std::move(lib)) {}
  const NvmlFunctions& fn() const { return lib_->fn(); }
  Result<nvmlDevice_t> Device(int index);
  Result<nvmlGpuInstance_t> GpuInstanceHandle(const Gpu& g, int gi);
  Result<nvmlComputeInstance_t> ComputeInstanceHandle(const Gpu& g, int gi, int ci);

  // Reads (nvml_read.cpp).
  Result<Gpu> ReadGpu(int index);
  Status ReadIdentity(nvmlDevice_t dev, Gpu* g);
  const Known& Profiles(nvmlDevice_t dev, const Gpu& g);
  std::vector<NvmlProfile> ReadProfiles(nvmlDevice_t dev, bool mig_on);
  Status ReadInstances(nvmlDevice_t dev, const Known& known, Gpu* g);
  Status ReadComputeInstances(nvmlGpuInstance_t h, const Gpu& g, GpuInstance* gi);
  Status ReadMigDevices(nvmlDevice_t dev, Gpu* g);
  Status ReadProcesses(nvmlDevice_t dev, Gpu* g);
  std::string ProcessName(uint32_t pid);

  // Xid events (nvml_events.cpp): one event set for the machine, each GPU
  // registered once MIG is on; the Xids reported per (GPU, GPU instance) are
  // kept while that instance exists and fill GpuInstance::fault. A driver
  // without the event calls reports no faults.
  struct EventSet {
    const NvmlFunctions* fn = nullptr;
    nvmlEventSet_t handle = nullptr;
    EventSet() = default;
    EventSet(const EventSet&) = delete;
    EventSet& operator=(const EventSet&) = delete;
    ~EventSet() {
      if (handle) Call(fn->nvmlEventSetFree, handle);
    }
  };
  void ReadFaults(nvmlDevice_t dev, Gpu* g);
  nvmlEventSet_t Events();
  void DrainEvents(nvmlEventSet_t set);

  std::unique_ptr<NvmlLibrary> lib_;
  std::map<int, Known> known_;
  std::deque<mig::GpuModel> models_;  // reconciled models the Gpus point into
  // ReadUtilisation's previous sample per slice ("gpu/gi/first MIG UUID").
  std::map<std::string, std::unique_ptr<GpmSample>> gpm_samples_;
  std::unique_ptr<EventSet> events_;                   // null until the first MIG GPU is read
  bool events_missing_ = false;                        // this driver has no event set to give
  std::set<int> registered_;                           // GPUs whose registration was tried
  std::map<std::pair<int, int>, std::string> faults_;  // (GPU, GI) → "Xid 94: …"
};

}  // namespace carve::device::nvml
