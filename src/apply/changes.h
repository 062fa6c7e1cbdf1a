// The changes: the diff of every GPU a layout names, and the driver operations
// that carry it out, in order. Pure: made from snapshots, runs nothing.
//
// Order (docs/apply.md "Operation order"): MIG is turned on first on the GPUs
// that need it (at boot on Hopper and later, the mode comes back before any
// slice); then GPU by GPU: processes stopped (--force only), compute instances
// before their GPU instance destroyed, MIG turned off where the layout says
// so, and GPU instances created, each followed by its compute instances.
#pragma once

#include <string>
#include <vector>

#include "apply/diff.h"
#include "apply/target.h"

namespace carve::apply {

enum class OpKind { kStopProcess, kDestroyCi, kDestroyGi, kSetMigMode, kCreateGi, kCreateCi };

struct Op {
  OpKind kind = OpKind::kCreateGi;
  int gpu = 0;
  SliceSpec slice{};                                // the slice it is about (not kSetMigMode)
  int gi = -1, ci = -1;                             // destroys: instance ids
  const mig::ComputeProfile* ci_profile = nullptr;  // kCreateCi
  bool enable = false;                              // kSetMigMode
  bool reset = false;                               // kSetMigMode: resets this GPU (Ampere)
  device::Process process{};                        // kStopProcess

  // "GPU 0: destroy 1g.10gb@2 (GI 9)"
  std::string Describe() const;
};

struct Changes {
  std::vector<GpuDiff> gpus;  // the GPUs the layout names, ascending index
  std::vector<Op> ops;

  bool empty() const { return ops.empty(); }
  bool in_use() const;
  Layouts Before() const;  // what each GPU held (every start known)
  Layouts After() const;   // what each GPU will hold (every start known)
};

// Diffs each layout in `target` against its GPU in `gpus` and orders the
// operations; with `force` processes in the way are stopped first. Errors
// name the GPU and where its layout was asked for.
Result<Changes> MakeChanges(const std::vector<device::Gpu>& gpus, const Layouts& target,
                            bool force);

}  // namespace carve::apply
