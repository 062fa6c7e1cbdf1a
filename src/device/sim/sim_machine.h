// SimMachine: the simulator backend. It says no wherever the driver says no:
// placements, overlap, counts and engines (the mig/ layout rules), compute
// instances before GPU instances, processes (IN_USE), MIG mode pending vs
// current with Ampere (reset to toggle; mode survives reboot) and Hopper+
// (no reset; mode and slices lost at reboot) semantics. It can fail the Nth
// driver call from now and slow every driver call down, and fail a GPU
// instance as the driver reports an Xid on it, for tests.
//
// State lives in memory (tests) or in a state file shared by every process
// that opens it (see sim_state.h). One SimMachine is for one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "device/machine.h"
#include "device/sim/activity.h"
#include "device/sim/sim_ops.h"
#include "device/sim/sim_state.h"

namespace carve::device::sim {

// Builds a new machine: `gpus` in index order, all MIG off unless `mig_on`.
Result<SimState> NewState(const std::vector<const mig::GpuModel*>& gpus, bool mig_on,
                          uint64_t seed);

// Builds a new machine from a list of "GPU[:COUNT]" items (`carve sim new`):
// a catalogue alias or product name ("h100-80gb:8", "rtx-pro-6000-server");
// a product sets its PCI device ID and display mode as it ships.
// kInvalidArgument for a COUNT outside 1–64, kNotFound for an unknown GPU.
Result<SimState> NewStateFromList(const std::vector<std::string>& items, bool mig_on,
                                  uint64_t seed);

// What `carve sim set` changes; a field left empty stays as it is.
struct SimSettings {
  std::optional<std::string> driver_version = {};  // the machine's
  std::optional<bool> ecc = {};                    // pending: applies at the next reset or reboot
  std::optional<bool> persistence_mode = {};
  // A Workstation edition only. Leaving it emulates DisplayModeSelector and
  // the reboot after it; entering it needs MIG off.
  std::optional<bool> display_mode = {};
  std::optional<std::optional<bool>> mig_timeslicing = {};  // {nullopt}: not reported
};

class SimMachine : public Machine {
 public:
  static std::unique_ptr<SimMachine> InMemory(SimState state);
  // Opens the machine in `path`; kNotFound (with the `sim new` command to run)
  // when there is none, kInvalidArgument when the file is not one.
  static Result<std::unique_ptr<SimMachine>> Open(std::string path);

  Result<DriverInfo> Driver() override;
  std::string ChangeLockPath() const override;
  Result<std::vector<Gpu>> Gpus() override;
  Result<Gpu> GetGpu(int index) override;
  Result<ModeChange> SetMigMode(int gpu, bool enabled) override;
  Status ResetGpu(int gpu) override;
  Result<GpuInstance> CreateGpuInstance(int gpu, int profile_id, std::optional<int> start) override;
  Status DestroyGpuInstance(int gpu, int gi) override;
  Result<ComputeInstance> CreateComputeInstance(int gpu, int gi, int ci_profile_id,
                                                std::optional<int> start) override;
  Status DestroyComputeInstance(int gpu, int gi, int ci) override;
  Status StopProcess(int gpu, uint32_t pid, int grace_ms) override;
  // Attach and Detach of a tracked process (one that is forgotten once it exits).
  Status NoteProcess(int gpu, const Process& p) override;
  Status ForgetProcess(uint32_t pid) override;

  // From the processes' activity files (activity.h); sim_utilisation.cpp.
  Result<std::vector<SliceUtilisation>> ReadUtilisation(int gpu) override;

  // The work done on GPU instance `gi` of GPU `gpu` so far (on the whole GPU
  // without `gi`), for GPM samples. Not a driver call. kNotFound for a GPU or
  // GPU instance that does not exist.
  Result<ActivitySample> SampleActivity(int gpu, std::optional<int> gi);

  // Simulation controls: not driver calls, so never failed or slowed.
  Status Reboot();
  // Attaches a process to GPU `gpu`: to compute instance `ci` (default: the
  // first) of GPU instance `gi` when MIG is on, to the whole GPU otherwise.
  Status Attach(int gpu, std::optional<int> gi, std::optional<int> ci, SimProcess process);
  Status Detach(uint32_t pid);
  // Changes `settings` on GPU `gpu` (the driver version on the machine);
  // kInvalidArgument, changing nothing, where the result is no real machine.
  Status Configure(std::optional<int> gpu, const SimSettings& settings);
  // The `fail_after`th mutating call from now fails with `error`; 0 clears.
  // kAlreadyExists while another fault is pending: one fault at a time.
  Status SetFault(int fail_after, Code error);
  Status SetDelay(int delay_ms);
  Result<SimState> State();

  // Fails GPU instance `gi` of GPU `gpu` with Xid `xid` (device/xid.h), as
  // the driver reports a failed instance (sim_fail.cpp): Gpus() shows it in
  // GpuInstance::fault, NVML clients get an Xid event, and each process on it
  // with an activity file finds a file `fault` beside that file (util/
  // activity_file.h), now or when it is attached later. kInvalidArgument for
  // an Xid carve does not know; the driver's refusals for a missing GPU or
  // instance or MIG off. Failing a failed instance again replaces its Xid.
  Result<FailedInstance> FailGpuInstance(int gpu, int gi, int xid);
  // Heals failed instances: all of them, those of `gpu`, or only `gi` of it
  // (which must exist), and removes their processes' fault files. Returns
  // the instances healed; none is no error.
  Result<std::vector<FailedInstance>> ClearFailures(std::optional<int> gpu, std::optional<int> gi);

 private:
  enum class Kind { kRead, kDriverCall, kControl };
  explicit SimMachine(std::string path) : path_(std::move(path)) {}
  // Runs `fn` on the state: a driver call first counts down the fault knob
  // and sleeps the delay; a failed call leaves the state as it was.
  Status Transact(Kind kind, const std::function<Status(SimState&)>& fn);

  std::string path_;  // empty: in memory
  SimState memory_;
  // ReadUtilisation's previous sample per slice ("gpu/gi/first CI's UUID").
  std::map<std::string, ActivitySample> last_samples_;
};

}  // namespace carve::device::sim
