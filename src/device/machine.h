// Machine: the GPUs of one host, as a backend sees them. Two backends
// implement it: `sim` (the simulator, src/device/sim/) and `nvml` (the real
// driver through dlopen, src/device/nvml/). Callers receive a Machine
// explicitly; there is no global.
//
// Every call is one driver transaction: reads return a consistent snapshot,
// writes either happen or return the driver's refusal (Code::kInUse,
// kInsufficientResources, kNotSupported, kInvalidArgument, kNotFound …) with
// a message that names what blocks them. Implementations are safe to call
// from one thread at a time; separate processes may share a machine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mig/catalog.h"
#include "util/status.h"

namespace carve::device {

struct MigMode {
  bool current = false;
  bool pending = false;
  bool operator==(const MigMode&) const = default;
};

// ECC: what the GPU runs with now, and what it will after the next reset.
struct EccMode {
  bool current = true;
  bool pending = true;
  bool operator==(const EccMode&) const = default;
};

// A process using a GPU or one of its slices.
struct Process {
  uint32_t pid = 0;
  std::string name;
  uint64_t memory_mib = 0;
  int gi = -1;  // -1: on the whole GPU (MIG off)
  int ci = -1;
  // Where the process counts its work (util/activity_file.h), "" if it does
  // not; only the simulator reads it (a driver measures the work itself).
  std::string activity_file = {};
};

struct ComputeInstance {
  int id = 0;
  int profile_id = 0;   // NVML compute-instance profile id
  std::string profile;  // "1c.3g.40gb" or the GI's name for the full CI
  int slices = 0;
  mig::Placement placement;  // relative to the GPU instance
  std::string uuid;          // "MIG-…": the MIG device this CI is
  int sm = 0;
};

struct GpuInstance {
  int id = 0;
  int profile_id = 0;        // nvidia-smi / NVML profile id
  std::string profile;       // "3g.40gb"
  mig::Placement placement;  // in the GPU's placement units
  uint64_t memory_total_mib = 0;
  uint64_t memory_used_mib = 0;
  std::vector<ComputeInstance> compute_instances;
  // Empty while healthy; else what the driver reported on this instance, as
  // long as it exists ("Xid 94: contained ECC error"). Engines on it fail;
  // carve up quarantines it (docs/live.md).
  std::string fault = {};
};

struct Gpu {
  int index = 0;
  std::string uuid;  // "GPU-…"
  std::string name;  // as the driver reports it
  std::string pci_bus_id;
  uint32_t pci_device_id = 0;
  std::string serial;
  const mig::GpuModel* model = nullptr;  // nullptr: not in carve's catalogue
  mig::Arch arch = mig::Arch::kUnknown;
  uint64_t memory_total_mib = 0;
  uint64_t memory_used_mib = 0;
  bool persistence_mode = false;
  std::optional<EccMode> ecc;  // nullopt: the backend does not report it
  // Whether a MIG slice can be time-sliced between vGPUs; nullopt where the
  // backend does not report it.
  std::optional<bool> mig_timeslicing;
  bool mig_capable = false;  // false also for a Workstation edition in display mode
  MigMode mig;
  std::vector<GpuInstance> gpu_instances;  // ascending placement start
  std::vector<Process> processes;
  // Where the backend and carve's catalogue disagree, or what the catalogue
  // lacks (the nvml backend fills it; the backend's facts win). Shown by doctor.
  std::vector<std::string> notes;
};

struct DriverInfo {
  std::string backend;  // "sim" or "nvml"
  std::string driver_version;
  std::string nvml_version;
  std::string cuda_version;
};

// How busy a slice was over an interval, as ratios 0..1: the share of its SMs
// that were busy, of its memory bandwidth used, of its time in tensor cores
// (NVML's GPM metrics SM_UTIL, DRAM_BW_UTIL and ANY_TENSOR_UTIL over 100).
struct Utilisation {
  double sm = 0;
  double memory_bandwidth = 0;
  double tensor = 0;
};

// The utilisation of one slice, or why there is none.
struct SliceUtilisation {
  int gi = -1;  // the GPU instance; -1: the whole GPU (MIG off)
  std::optional<Utilisation> value;
  std::string unavailable;  // why `value` is empty, for people (names DCGM where it has it)
};

// What a MIG mode change did.
struct ModeChange {
  MigMode mode;             // after the call
  bool reset_done = false;  // the GPU was reset to apply it (Ampere)
  Status activation;        // Ok, or why the pending mode is not current yet
};

class Machine {
 public:
  virtual ~Machine() = default;

  virtual Result<DriverInfo> Driver() = 0;
  // The file whose lock a carve holds while it changes this machine, so that
  // two carve commands never interleave their changes.
  virtual std::string ChangeLockPath() const = 0;
  // Every GPU with its MIG state, instances and processes.
  virtual Result<std::vector<Gpu>> Gpus() = 0;
  // One GPU; kNotFound when `index` is out of range.
  virtual Result<Gpu> GetGpu(int index) = 0;

  virtual Result<ModeChange> SetMigMode(int gpu, bool enabled) = 0;
  // Resets one GPU (applies a pending MIG mode). kInUse while processes run.
  virtual Status ResetGpu(int gpu) = 0;

  // Creates a GPU instance of `profile_id`; without a start the driver picks.
  virtual Result<GpuInstance> CreateGpuInstance(int gpu, int profile_id,
                                                std::optional<int> start) = 0;
  virtual Status DestroyGpuInstance(int gpu, int gi) = 0;
  // Creates a compute instance of `ci_profile_id` inside GI `gi`.
  virtual Result<ComputeInstance> CreateComputeInstance(int gpu, int gi, int ci_profile_id,
                                                        std::optional<int> start) = 0;
  virtual Status DestroyComputeInstance(int gpu, int gi, int ci) = 0;

  // The utilisation of each GPU instance of GPU `gpu` (of the whole GPU when
  // MIG is off) since the previous call for that GPU on this Machine; the
  // first call measures over 100 ms and blocks that long. On hardware that
  // gives none per slice (NVML's GPM needs Hopper or later) every entry says
  // why instead. kNotFound when `gpu` is out of range.
  virtual Result<std::vector<SliceUtilisation>> ReadUtilisation(int gpu) = 0;

  // Stops a process that uses a GPU (SIGTERM, then SIGKILL after `grace_ms`),
  // for `--force`. kNotFound when no such process uses `gpu`.
  virtual Status StopProcess(int gpu, uint32_t pid, int grace_ms) = 0;

  // A process carve started on GPU `gpu`: on compute instance `p.ci` of GPU
  // instance `p.gi` (-1: the first compute instance; a GI of -1: the whole
  // GPU, MIG off), using `p.memory_mib`. A real driver sees processes itself,
  // so by default this does nothing. The simulator records it until it exits
  // or is forgotten: Gpus() lists it with its memory, and a change refuses to
  // destroy its slice, as the driver would.
  virtual Status NoteProcess(int gpu, const Process& p) {
    (void)gpu, (void)p;
    return Status::Ok();
  }
  // The end of NoteProcess; a pid never noted is no error.
  virtual Status ForgetProcess(uint32_t pid) {
    (void)pid;
    return Status::Ok();
  }
};

}  // namespace carve::device
