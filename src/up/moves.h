// Make-before-break: the layout a reload passes through so that a replica
// that moves keeps serving on its old slice while its new one starts.
//
// A reload's final layout may leave out slices that running replicas use
// (they move or stop). The interim layout is the final one plus each such
// old slice that stays out of the way: it overlaps no slice of the final
// layout, no new replica is wanted on it, and its GPU keeps its MIG mode. The
// replicas on those slices are stopped only after their successors are ready
// (and they are drained); the others (the old slice is in the way) must stop
// first, and their model may wait for its new engine (the gateway holds its
// requests, gateway.timeouts.hold_ms). Pure: no machine, no engines.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "apply/target.h"
#include "device/machine.h"
#include "plan/plan.h"
#include "up/desired.h"

namespace carve::up {

// A running replica, as StayPut sees it.
struct Running {
  std::string model;
  Slot slot;
};

// The planner minimises slices changed, not replicas moved: of two equal
// layouts it may put a model on a slice another model's engine runs on now.
// StayPut moves each planned MIG slice of a model in `stable` (its settings
// unchanged) to where a running replica of that model sits, on the same GPU
// with the same profile, when the layout stays legal: by swapping with the
// planned slice of that profile already there, or by moving to that start
// when it is free. The set of slices per GPU may change (a slice that would
// be made is kept instead); what each GPU serves does not.
void StayPut(plan::Plan& p, const std::vector<Running>& running,
             const std::set<std::string>& stable);

// A running replica that the reload moves or stops, and where it runs.
struct Leaving {
  std::string id;
  Slot slot;
};

struct Interim {
  apply::Layouts layouts;
  std::map<std::string, std::string> stop_first;  // leaving replicas in the way: id → why
};

// `final_layouts`: the plan's; `gpus`: the machine now; `arriving`: the slots
// of the replicas the reload starts.
Interim InterimLayouts(const apply::Layouts& final_layouts, const std::vector<device::Gpu>& gpus,
                       const std::vector<Leaving>& leaving, const std::vector<Slot>& arriving);

// The models a change leaves with no ready replica: one of their replicas
// moves (in `moving`), and every running replica of theirs stops first.
// `model_of`: each running replica's model, by id.
std::set<std::string> DarkModels(const Interim& interim,
                                 const std::map<std::string, std::string>& model_of,
                                 const std::set<std::string>& moving);

// Where a dark model serves while its replicas stop first and their
// successors start: a replica of it (its successor's settings) on free
// capacity, started and ready before anything stops, drained and stopped
// once the successors are ready, its slice destroyed with the final layout.
struct TemporaryHome {
  std::string model;
  Slot slot;          // profile, place and memory; resolved once it exists
  bool made = false;  // a new slice (else an idle one that exists now)
};

// A temporary home for each model of `wanted` (its successor's slot: the
// profile it needs, and its memory): an idle slice of that profile that the
// interim layout does not destroy, else a new one at a free placement on a
// GPU in MIG mode that the interim layouts list, overlapping no slice there
// now or in the interim layout. Each is added to `interim.layouts`. `busy`:
// slices not to take ("0:1g.10gb@3": those of running and arriving replicas,
// spares, quarantined slices). Models with no room are left out. Pure.
std::vector<TemporaryHome> AddTemporaryHomes(Interim& interim, const std::vector<device::Gpu>& gpus,
                                             const std::map<std::string, Slot>& wanted,
                                             std::set<std::string> busy);

}  // namespace carve::up
