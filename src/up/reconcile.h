// The reconcile step: what to do so that what runs becomes what is wanted.
// A pure function of desired and actual state, no I/O, so a table of
// (desired, actual) → actions tests it.
//
//   keep   a running replica whose model, settings and slice are all wanted:
//          its engine stays (same PID);
//   move   a running replica of a model that is wanted elsewhere or with other
//          settings: a new engine for the wanted one, then the old one goes;
//   start  a wanted replica with nothing running to keep or move;
//   stop   a running replica nothing wants.
//
// Each running replica and each wanted one is used by exactly one action.
// Keeps are found first, then moves pair what is left of each model in the
// order given (wanted in plan order, running by id), so the result is
// deterministic.
#pragma once

#include <string>
#include <vector>

#include "device/slice_ref.h"

namespace carve::up {

// A wanted replica as the reconcile step sees it.
struct Want {
  std::string model;
  std::string settings;  // the model's settings, as one comparable string
  device::SliceRef slice;
};

// A running replica.
struct Have {
  std::string id;  // "MODEL/N"
  std::string model;
  std::string settings;
  device::SliceRef slice;
};

enum class ActionKind { kKeep, kMove, kStart, kStop };

struct Action {
  ActionKind kind;
  std::string id;  // the running replica (keep, move, stop); "" for start
  int want = -1;   // index into the wanted list (keep, move, start); -1 for stop
  bool operator==(const Action&) const = default;
};

// Keeps first, then moves, starts and stops.
std::vector<Action> Reconcile(const std::vector<Want>& desired, const std::vector<Have>& actual);

const char* ActionName(ActionKind kind);  // "keep", "move", "start", "stop"

}  // namespace carve::up
