// The simulator's driver semantics as functions over SimState. Each either
// changes the state and returns Ok, or returns the driver's refusal and
// leaves the state alone. Used by SimMachine; internal to device/sim.
#pragma once

#include <optional>

#include "device/machine.h"
#include "device/sim/sim_state.h"

namespace carve::device::sim {

Result<SimGpu*> FindGpu(SimState& s, int gpu);
// What the Machine interface reports for one simulated GPU.
Result<Gpu> Snapshot(const SimGpu& g, int index);

Result<ModeChange> DoSetMigMode(SimState& s, int gpu, bool enabled);
Status DoResetGpu(SimState& s, int gpu);
Result<GpuInstance> DoCreateGpuInstance(SimState& s, int gpu, int profile_id,
                                        std::optional<int> start);
Status DoDestroyGpuInstance(SimState& s, int gpu, int gi);
Result<ComputeInstance> DoCreateComputeInstance(SimState& s, int gpu, int gi, int ci_profile_id,
                                                std::optional<int> start);
Status DoDestroyComputeInstance(SimState& s, int gpu, int gi, int ci);

// GPU-instance id the driver gives a placement: its "swizzle id", 0 for the
// whole GPU, then the halves, quarters and eighths of the unit space.
int GpuInstanceId(int units, const mig::Placement& p);

}  // namespace carve::device::sim
