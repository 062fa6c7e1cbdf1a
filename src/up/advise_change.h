// What applying advice would change on a running carve up, computed the way
// a reload computes it (service.cpp, Converge) but without doing anything:
// the spec planned on the machine now, engines kept where they run (StayPut),
// the reconcile step against the running replicas (keep / move / start /
// stop), and which of the leaving ones must stop before their successors
// start (InterimLayouts); every other one is make before break.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "device/machine.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "util/status.h"

namespace carve::up {

struct ReplicaChange {
  std::string action;  // "keep", "move", "start", "stop"
  std::string id;      // the running replica; "" for a start
  std::string model;
  std::string from, to;     // slices "0:1g.10gb@0"; "" where none
  bool stop_first = false;  // stopped before its successor starts (`why`)
  std::string why;
};

struct ChangePreview {
  plan::Plan plan;   // the advised spec on the machine
  bool fits = true;  // every model served; else plan.unmet says why
  // When it does not fit: GPUs like GPU `more_like` to add for it to fit
  // (0: more than 8 or none would help).
  int more_gpus = 0, more_like = 0;
  std::vector<ReplicaChange> changes;
  std::vector<int> gpus_before, gpus_after;  // indexes of the GPUs serving a replica
  // Models left without a ready replica for a while: every replica they run
  // stops first. Their requests are held (not failed) until a successor is
  // ready. A replica that stops first while its model keeps another costs
  // nothing.
  std::vector<std::string> waiting;
};

// `status`: status.json of the running service (its replicas and slices).
Result<ChangePreview> PreviewChange(const spec::Spec& next, const std::vector<device::Gpu>& gpus,
                                    const nlohmann::ordered_json& status);

}  // namespace carve::up
