// The simulator's driver semantics as functions over SimState. Each either
// changes the state and returns Ok, or returns the driver's refusal and
// leaves the state alone. Used by SimMachine; internal to device/sim, but
// for FailedInstance, which SimMachine's failure calls answer with.
#pragma once

#include <optional>
#include <string>
#include <vector>

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

// A GPU instance the driver reported an Xid on (carve sim fail).
struct FailedInstance {
  int gpu = 0;
  int gi = 0;
  int xid = 0;
  std::vector<std::string> fault_files = {};  // for the processes on it
  std::vector<std::string> devices = {};      // the MIG UUIDs of its compute instances
};
// Marks GPU instance `gi` failed with `xid`, a known Xid (device/xid.h),
// with a fault file for each process on it that has an activity file.
Result<FailedInstance> DoFailGpuInstance(SimState& s, int gpu, int gi, int xid);
// Heals every failed instance, those of `gpu`, or only `gi` of it (which
// must exist); each healed one comes back with the fault files to remove.
Result<std::vector<FailedInstance>> DoClearFailures(SimState& s, std::optional<int> gpu,
                                                    std::optional<int> gi);
// The fault files of GPU instance `gi` of `g` (of all its instances without).
std::vector<std::string> FaultFilesOf(const SimGpu& g, std::optional<int> gi);
// Adds the fault file beside `activity_file` to failed `gi`; false when it
// has it already or there is no activity file.
bool AddFaultFile(SimGpuInstance& gi, const std::string& activity_file);

// The I/O half (sim_fail.cpp), run once the state is written: what each
// fault file says is the instance's fault text; a file already gone is fine.
Status WriteFaultFiles(const std::vector<std::string>& files, int xid,
                       const std::vector<std::string>& devices);
// The MIG UUIDs of `gi`'s compute instances: the devices a fault file names.
std::vector<std::string> DevicesOf(const SimGpuInstance& gi);
void RemoveFaultFiles(const std::vector<std::string>& files);

// GPU-instance id the driver gives a placement: its "swizzle id", 0 for the
// whole GPU, then the halves, quarters and eighths of the unit space.
int GpuInstanceId(int units, const mig::Placement& p);

}  // namespace carve::device::sim
