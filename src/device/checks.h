// carve doctor's checks: what the MIG recipes warn about, each a row with a
// status and the fix. Pure: it reads only the facts it is given (the
// machine's GPUs and driver, and what `carve apply` recorded), so every row
// is testable on the simulator and the NVML backend alike.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "device/machine.h"

namespace carve::device {

enum class CheckStatus { kOk, kInfo, kWarn, kFail, kUnknown };
std::string_view CheckStatusName(CheckStatus s);  // "ok", "info", "warn", "fail", "unknown"

struct Check {
  std::string name;  // "driver", "display mode", "compute instances", "gpu instances", "ecc",
                     // "persistence", "mig time-slicing", "boot"
  int gpu = -1;      // -1: the machine
  CheckStatus status = CheckStatus::kOk;
  std::string detail;  // what was found, one line
  std::string fix;     // the command or step; empty when there is nothing to do
};

// The layout `carve apply` last made and whether a boot unit re-makes it.
struct AppliedLayout {
  struct Held {
    std::string uuid;
    int slices = 0;  // GPU instances it left on that GPU (MIG on)
  };
  std::string layout;      // the file apply was given
  std::vector<Held> gpus;  // the GPUs it left with MIG on
  bool boot_unit = false;  // `carve apply --install` put a unit in place and it is there
};

// The rows for one GPU of a MIG-capable kind (none for the others).
std::vector<Check> GpuChecks(const DriverInfo& driver, const Gpu& gpu);
// The rows for the machine as a whole: boot persistence.
std::vector<Check> MachineChecks(const std::vector<Gpu>& gpus,
                                 const std::optional<AppliedLayout>& applied);

// Where one GPU stands and the command that takes it a step further (carve
// doctor's per-GPU lines).
struct Advice {
  std::string state;  // one line: where the GPU stands
  std::string next;   // the command to run, or empty when there is none
};
Advice NextStep(const Gpu& gpu);

// Compares dotted driver versions ("580.95.05"); nullopt when one is not one.
std::optional<int> CompareDriverVersions(std::string_view a, std::string_view b);

}  // namespace carve::device
