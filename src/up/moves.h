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

}  // namespace carve::up
