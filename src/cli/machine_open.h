// Opening the machine a verb works on: the simulator when --sim/CARVE_SIM (or
// --backend sim) names one, else the NVIDIA driver through NVML.
#pragma once

#include <memory>

#include "cli/cli.h"
#include "device/machine.h"
#include "util/file_lock.h"

namespace carve::cli {

Result<std::unique_ptr<device::Machine>> OpenMachine(const Globals& g);

// Holds the machine's change lock for a verb that changes it: waits for
// another carve when `wait`, else answers kBusy. `what` names this command.
Result<std::optional<FileLock>> LockForChanges(device::Machine& m, bool wait,
                                               const std::string& what);

// The GPUs a verb should act on: `indices` (empty: all), each checked.
Result<std::vector<device::Gpu>> SelectGpus(device::Machine& m, const std::vector<int>& indices);

}  // namespace carve::cli
