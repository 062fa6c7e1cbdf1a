// Failover: slices `carve up` stops using, and where their replicas go
// (docs/live.md, "Failover"). A slice is quarantined when the device reports a
// fault on it (an Xid on its GPU instance: GpuInstance::fault) or when its
// engine keeps crashing there. The quarantined slice is kept, empty: nothing
// runs on it and nothing is made over its units until carve up starts afresh
// (a device fault also ends when the device heals). Its replicas are re-placed
// on a spare slice the spec reserves (`spare:`), else on free capacity.
// Pure: a plan and lists in, the changed plan and what was done out.
#pragma once

#include <string>
#include <vector>

#include "device/slice_ref.h"
#include "plan/plan.h"

namespace carve::up {

struct Quarantine {
  device::SliceRef slice;    // where: 0:1g.10gb@0
  std::string why;           // "Xid 94: contained ECC error", "its engine crash-loops …"
  std::string since;         // UTC, ISO 8601
  bool from_device = false;  // the device reported it: ends when the device heals
};

// Keeps each quarantined slice in the plan, empty, and moves every planned
// slice that overlaps one (its replicas with it): onto a free spare of
// `spares` large enough for them, else onto another empty planned slice as
// large, else to a free placement of its profile on its own GPU, else on
// another GPU of the same model. What fits nowhere is dropped, its replicas
// with it (its model serves with fewer until room frees). One line per move
// or drop, for people.
std::vector<std::string> AvoidQuarantined(plan::Plan& p,
                                          const std::vector<device::SliceRef>& quarantined,
                                          const std::vector<device::SliceRef>& spares);

// Adds empty slices of `profile` to the plan until it holds `count` spares:
// the slices of `spares` first (where they are still free), then the first
// free placements, GPUs in use first (unless not `make_new`: a failover
// keeps what spares are left and replenishes them after its move). Returns
// the spares; `short_note` says when fewer than `count` fit (else "").
std::vector<device::SliceRef> ReserveSpares(plan::Plan& p, const std::string& profile, int count,
                                            const std::vector<device::SliceRef>& spares,
                                            std::string& short_note, bool make_new = true);

}  // namespace carve::up
