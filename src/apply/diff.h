// The diff: per GPU, placement-exact, what to keep, destroy and create so the
// GPU holds its target layout. A pure function of a GPU snapshot and a target.
//
// Rules (docs/apply.md "Diff rules"):
//   - a slice the GPU holds is kept when the target has one of the same
//     profile and compute instances at the same start, or with no start
//     (then slices with processes are kept first), as long as the rest of the
//     target can still be placed around what is kept;
//   - every other slice is destroyed; slices the target lacks are created at
//     their start, or where mig::Place puts them around the kept ones;
//   - the MIG mode changes only when the GPU's current or pending mode differs
//     from the target; on Ampere that change resets this GPU, no other.
#pragma once

#include <string>
#include <vector>

#include "apply/target.h"
#include "device/machine.h"
#include "util/status.h"

namespace carve::apply {

struct SliceChange {
  SliceSpec spec;                              // start always known
  int gi = -1;                                 // the GPU instance (kept, destroyed)
  std::vector<device::ComputeInstance> cis{};  // its compute instances (destroyed)
  std::vector<device::Process> processes{};    // processes using it
  std::string why{};                           // destroyed: why it cannot stay
};

struct GpuDiff {
  device::Gpu before;  // the snapshot the diff was made from
  GpuLayout after;     // the target with every start decided
  std::vector<SliceChange> keep, destroy, create;
  bool mode_change = false;  // SetMigMode(after.mig) is needed
  bool reset = false;        // ... and it resets this GPU (Ampere, current mode flips)
  std::vector<device::Process> mode_blockers;  // whole-GPU processes a mode flip must stop

  bool empty() const { return destroy.empty() && create.empty() && !mode_change; }
  bool in_use() const;  // something to destroy, or a mode flip, has processes
};

// Diffs `gpu` against `target` (target.gpu == gpu.index). Errors when the
// target cannot be reached at all (no room, no MIG, unknown model), naming the
// GPU and `target.source`.
Result<GpuDiff> DiffGpu(const device::Gpu& gpu, const GpuLayout& target);

// "process 4121 (vllm, 38.2 GiB)"
std::string ProcessText(const device::Process& p);

}  // namespace carve::apply
