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

// The GPUs a verb acts on: those `refs` name, by index, UUID (or a unique
// prefix) or PCI bus id (device/gpu_ref.h), in the order given; all when empty.
Result<std::vector<device::Gpu>> SelectGpus(device::Machine& m,
                                            const std::vector<std::string>& refs);
// The one GPU `refs` names; kInvalidArgument unless it names exactly one.
Result<device::Gpu> SelectOneGpu(device::Machine& m, const std::vector<std::string>& refs);

// Adds `-i,--gpu` to a verb: GPU index, UUID or PCI bus id; a comma list.
void AddGpuOption(CLI::App* cmd, std::vector<std::string>& refs, const std::string& help);

}  // namespace carve::cli
