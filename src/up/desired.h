// Desired state: what a plan asks `carve up` to run. A spec planned on this
// machine (plan/spec_plan.h) becomes the layout each GPU must hold and one
// wanted replica per placed replica, each with its engine's launch and the
// settings that must stay equal for a running engine to be kept. Pure: the
// machine is only read from the GPU list the caller passes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "apply/target.h"
#include "device/machine.h"
#include "device/slice_ref.h"
#include "plan/plan.h"
#include "serve/engine.h"
#include "spec/spec.h"
#include "util/status.h"

namespace carve::up {

// Where one replica runs: a slice the plan chose, resolved to its MIG device
// once the layout is applied.
struct Slot {
  int gpu = 0;
  std::string profile;  // "3g.40gb", or "whole" for a GPU with MIG off
  int start = 0;
  uint64_t memory_mib = 0;  // the replica's share, shown as the engine's memory (simulator)
  // After the layout is applied (ResolveSlot):
  int gi = -1, ci = -1;
  std::string uuid;

  device::SliceRef ref() const { return {gpu, profile == "whole" ? "" : profile, start}; }
  std::string where() const { return ref().str(); }  // "0:3g.40gb@4"
};

struct WantedReplica {
  std::string model;
  Slot slot;
  serve::ReplicaSpec spec;  // the engine's launch, without id and uuid
  // The model's settings that must stay equal for an engine to keep running
  // (engine, source, command, args, image, env, launcher, memory fraction),
  // as one string.
  std::string settings;
};

// The replicas `p` places, in plan order. `ready_timeout_ms` > 0 overrides
// each engine's default. kNotSupported for a replica spanning GPUs.
Result<std::vector<WantedReplica>> WantedFromPlan(const plan::Plan& p, const spec::Spec& s,
                                                  int ready_timeout_ms);

// Pools (docs/pools.md): a plan places each pool's slices as the replicas of
// a model named "pool:NAME" (plan/on_demand.h). WantedFromPlan leaves them
// out: no engine runs on a pool slice until an on-demand model loads there.
// Each pool's slices, by pool name; each slot's memory_mib is the slice's.
std::map<std::string, std::vector<Slot>> PoolSlotsFromPlan(const plan::Plan& p);
// An on-demand model's replica on pool slice `slice` (memory_mib: the
// slice's): its launch with the memory fraction of `need_mib` on that slice
// (vLLM's --gpu-memory-utilization), its slot's memory_mib `need_mib`.
Result<WantedReplica> OnDemandReplica(const spec::Model& m, const Slot& slice, uint64_t need_mib,
                                      int ready_timeout_ms);

// The layouts the plan's GPUs must hold, as `carve apply` takes them. GPUs the
// plan leaves unused are not listed (left alone).
Result<apply::Layouts> LayoutsFromPlan(const plan::Plan& p, const std::vector<device::Gpu>& gpus);

// Finds `slot` on the machine now: its GPU instance, first compute instance
// and MIG UUID (the GPU's UUID for a whole GPU). kNotFound when it is not there.
Status ResolveSlot(Slot& slot, const std::vector<device::Gpu>& gpus);

// The replicas a plan places, with ids ("MODEL/N"), where each one's slice
// is (`slice`: "0:3g.40gb@4") and its MIG UUID from `gpus` (the machine now)
// where the slice exists, else a placeholder "MIG-<gpu>-<profile>@<start>"
// (counted in `placeholders`). For `carve render docker`.
Result<std::vector<serve::ReplicaSpec>> ReplicasFromPlan(const plan::Plan& p, const spec::Spec& s,
                                                         const std::vector<device::Gpu>& gpus,
                                                         int& placeholders);

}  // namespace carve::up
