// Why the driver said no, in carve's words. NVML answers a refused call with
// a bare code; these turn the code plus the GPU's current state into the
// message the simulator gives for the same refusal (sim_ops.cpp), so a
// person sees the same explanation on real hardware and in the simulator.
// When the state does not explain the code, the caller keeps NVML's own.
#pragma once

#include <optional>

#include "device/machine.h"

namespace carve::device::nvml {

// "GPU 0 (H100 80GB SXM)".
std::string GpuLabel(const Gpu& g);
// "process 4121 (vllm, 38.2 GiB), …".
std::string DescribeProcesses(const std::vector<const Process*>& procs);
std::vector<const Process*> ProcessesOn(const Gpu& g, int gi, int ci);

// Ok when MIG is on; otherwise NotSupported saying what to run.
Status NeedMigOn(const Gpu& g);
// The GPU instance, or NotFound listing the ones there are.
Result<const GpuInstance*> FindGpuInstance(const Gpu& g, int gi);

// A refused GPU-instance create: the layout rule it breaks, else `nvml`.
Status ExplainCreateGi(const Gpu& g, const mig::Profile& p, std::optional<int> start, Status nvml);
// A refused compute-instance create: count or room, else `nvml`.
Status ExplainCreateCi(const Gpu& g, const GpuInstance& gi, const mig::ComputeProfile& cp,
                       std::optional<int> start, Status nvml);
// IN_USE on a GPU-instance destroy: its compute instances, else `nvml`.
Status ExplainDestroyGi(const Gpu& g, const GpuInstance& gi, Status nvml);
// IN_USE on a compute-instance destroy: its processes, else `nvml`.
Status ExplainDestroyCi(const Gpu& g, const GpuInstance& gi, const ComputeInstance& ci,
                        Status nvml);
// IN_USE from SetMigMode: GPU instances still there (disable), else `nvml`.
Status ExplainSetMigMode(const Gpu& g, bool enabled, Status nvml);
// A mode change accepted but not active yet (activationStatus IN_USE).
Status PendingInUse(const Gpu& g, bool enabled);

}  // namespace carve::device::nvml
