// Why the driver said no, in carve's words: every refusal the two device
// backends share, written once, in one table keyed by its kind. The
// simulator (device/sim) refuses by its own rules; the NVML backend
// (device/nvml) explains NVML's bare codes from the GPU's state; both word
// the refusal with Refuse(), so a person reads the same explanation on real
// hardware and in the simulator (nvml_machine_test.cpp runs each refusal on
// both). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/status.h"

namespace carve::device {

enum class Refusal {
  kNoGpu,                           // no GPU of that index
  kNoMig,                           // the GPU cannot do MIG
  kMigOff,                          // an instance call while MIG is off
  kMigEnablePending,                // ... while turning it on waits for a GPU reset
  kNoGpuInstanceProfile,            // the GPU has no GPU-instance profile of that id
  kNoComputeInstanceProfile,        // the GPU instance has no compute profile of that id
  kNoGpuInstance,                   // no GPU instance of that id
  kNoComputeInstance,               // no compute instance of that id in the GPU instance
  kNoProcess,                       // no process of that pid on the GPU
  kNoRoomForGpuInstance,            // the layout rules leave the profile no start
  kComputeInstanceLimit,            // the GPU instance holds the most of that compute profile
  kNoRoomForComputeInstance,        // its compute instances already hold the slices
  kGpuInstanceHasComputeInstances,  // destroying a GPU instance that has compute instances
  kComputeInstanceInUse,            // destroying a compute instance that processes use
  kGpuHasGpuInstances,              // turning MIG off with GPU instances left
  kModeChangeInUse,                 // a MIG mode change waits for processes and a reset
};

// What a refusal names. Each kind reads the fields its words use; the rest
// are ignored.
struct RefusalFacts {
  int gpu = 0;                // the GPU's index
  std::string gpu_model;      // its name, as in "GPU 0 (H100 80GB SXM)"
  int gpu_instance = -1;      // a GPU instance's id
  int compute_instance = -1;  // a compute instance's id
  int64_t id = -1;            // the profile id or pid asked for
  int count = 0;              // GPUs on the machine, GPU instances left, or a limit
  std::string profile;        // a GPU-instance or compute-instance profile's name
  std::string list;           // ids or processes ("" and count 0: nothing to list)
  std::string reason;         // the layout rule the request breaks (mig::CheckAdd)
  std::string uuid;           // the compute instance's
  std::optional<int> start;   // the placement asked for
  bool enable = true;         // the MIG mode asked for
};

// The refusal of `kind` with `facts` in its words, with its status code.
Status Refuse(Refusal kind, const RefusalFacts& facts);

// "GPU 0 (H100 80GB SXM)".
std::string GpuLabel(int gpu, const std::string& model_name);
// "process 4121 (vllm, 38.2 GiB)".
std::string ProcessText(uint32_t pid, const std::string& name, uint64_t memory_mib);

}  // namespace carve::device
