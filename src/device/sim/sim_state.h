// The simulated machine's state and its file form. A state file is JSON
// (schema carve-sim/v1) guarded by an exclusive lock on FILE.lock, so separate
// carve processes and the NVML drop-in share one machine and never see or
// write a half-done change (writes go to a temp file that is renamed over).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "device/machine.h"
#include "util/status.h"

namespace carve::device::sim {

struct SimComputeInstance {
  int id = 0;
  int profile_id = 0;
  int start = 0;  // relative to the GPU instance
  std::string uuid;
};

struct SimGpuInstance {
  int id = 0;
  int profile_id = 0;
  int start = 0;
  std::vector<SimComputeInstance> cis;
  // 0 while healthy; else the Xid the driver reported on this instance
  // (device/xid.h). It lasts until the instance is destroyed or its GPU is
  // reset (carve sim fail --clear heals it sooner).
  int xid = 0;
  // The fault files written for the processes on it while it is failed
  // (util/activity_file.h), removed when it heals or goes.
  std::vector<std::string> fault_files = {};
};

struct SimProcess {
  uint32_t pid = 0;
  std::string name;
  uint64_t memory_mib = 0;
  int gi = -1;
  int ci = -1;
  bool track = false;         // a real host process: forgotten once it has exited
  std::string activity = {};  // its activity file (util/activity_file.h), "" if none
};

struct SimGpu {
  std::string model;           // catalogue alias
  uint32_t pci_device_id = 0;  // which of the model's products; 0: the first
  std::string uuid;
  std::string serial;
  std::string pci_bus_id;
  bool persistence_mode = true;
  bool display_mode = false;  // a Workstation edition not yet switched to compute mode
  EccMode ecc;
  std::optional<bool> mig_timeslicing;  // nullopt: not reported
  MigMode mig;
  int resets = 0;  // GPU resets so far (MIG toggles on Ampere, explicit resets)
  std::vector<SimGpuInstance> gis;
  std::vector<SimProcess> processes;
};

struct SimFaults {
  int fail_after = 0;  // 0: none; N: the Nth mutating call from now fails
  Code error = Code::kUnknown;
  int delay_ms = 0;  // added to every mutating call
};

struct SimState {
  uint64_t seed = 0;
  uint64_t next_uuid = 1;
  int boots = 1;
  std::string driver_version = "580.95.05";
  std::vector<SimGpu> gpus;
  SimFaults faults;

  // A fresh UUID with `prefix` ("GPU-" or "MIG-"), deterministic per seed.
  std::string NewUuid(std::string_view prefix);
};

// Parses and prints the carve-sim/v1 JSON form. Errors name the file. A
// state that parses also passes CheckState.
Result<SimState> ParseState(std::string_view text, std::string_view where);
// Every invariant the simulator keeps when it changes a state: known GPU
// models, MIG off with no GPU instances, unique ids, profiles of the GPU's
// catalogue at legal, non-overlapping placements within their counts and
// engines, compute instances inside their GPU instance likewise, processes on
// instances that exist, sane fault settings, failed instances with an Xid
// carve knows. (sim_state_check.cpp)
Status CheckState(const SimState& state);
std::string FormatState(const SimState& state);

// Fault codes as users write them (`carve sim fault --error in_use`).
Result<Code> ParseFaultCode(std::string_view name);
std::string FaultCodeNames();
std::string FaultCodeName(Code code);

// Runs `fn` on the state in `path` under the exclusive lock, and writes the
// state back when `fn` asks for it (returns true in *write). The file must exist.
Status WithStateFile(const std::string& path,
                     const std::function<Status(SimState& state, bool* write)>& fn);
// Writes a new state file; refuses to overwrite unless `overwrite`.
Status CreateStateFile(const std::string& path, const SimState& state, bool overwrite);

}  // namespace carve::device::sim
