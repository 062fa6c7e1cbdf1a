// Why the driver said no, in carve's words. NVML answers a refused call with
// a bare code; these turn the code plus the GPU's current state into the
// refusal the simulator gives for the same call, in the words of the shared
// table (device/refusals.h), so a person sees the same explanation on real
// hardware and in the simulator. When the state does not explain the code,
// the caller keeps NVML's own.
#pragma once

#include <optional>

#include "device/machine.h"
#include "device/refusals.h"

namespace carve::device::nvml {

// The facts every refusal about `gpu` names (its index and model).
RefusalFacts FactsOf(const Gpu& gpu);
// "process 4121 (vllm, 38.2 GiB), …".
std::string DescribeProcesses(const std::vector<const Process*>& processes);
// The processes on `gpu`, in one GPU instance and compute instance (-1: any).
std::vector<const Process*> ProcessesOn(const Gpu& gpu, int gpu_instance, int compute_instance);

// Ok when MIG is on; otherwise NotSupported saying what to run.
Status NeedMigOn(const Gpu& gpu);
// The GPU instance, or NotFound listing the ones there are.
Result<const GpuInstance*> FindGpuInstance(const Gpu& gpu, int gpu_instance);

// A refused GPU-instance create: the layout rule it breaks, else `nvml_status`.
Status ExplainCreateGi(const Gpu& gpu, const mig::Profile& profile, std::optional<int> start,
                       Status nvml_status);
// A refused compute-instance create: count or room, else `nvml_status`.
Status ExplainCreateCi(const Gpu& gpu, const GpuInstance& gpu_instance,
                       const mig::ComputeProfile& compute_profile, std::optional<int> start,
                       Status nvml_status);
// IN_USE on a GPU-instance destroy: its compute instances, else `nvml_status`.
Status ExplainDestroyGi(const Gpu& gpu, const GpuInstance& gpu_instance, Status nvml_status);
// IN_USE on a compute-instance destroy: its processes, else `nvml_status`.
Status ExplainDestroyCi(const Gpu& gpu, const GpuInstance& gpu_instance,
                        const ComputeInstance& compute_instance, Status nvml_status);
// IN_USE from SetMigMode: GPU instances still there (disable), else `nvml_status`.
Status ExplainSetMigMode(const Gpu& gpu, bool enabled, Status nvml_status);
// A mode change accepted but not active yet (activationStatus IN_USE).
Status PendingInUse(const Gpu& gpu, bool enabled);

}  // namespace carve::device::nvml
