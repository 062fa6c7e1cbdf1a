// Advice: from a model's measured traffic over a window, how many replicas
// serve it with headroom. Pure: a table of inputs tests it (advise_test.cpp).
//
// The rule (docs/live.md, "carve advise"):
//   load      what the model asks for, in the unit its capacity is known in:
//             requests/s when its replicas' measured throughput is known (the
//             spec's profiles: rows, on the profile each replica runs on), else
//             requests in the system (in flight + queued, on average) against
//             the gateway's max_in_flight per replica.
//   used      load / (replicas × capacity of one): the utilisation.
//   needed    ceil(load / (capacity × 70%)): the count that leaves 30% headroom.
//   grow      when used > 80%, or requests queued 1 or more on average while
//             used > 70% (requests waited for a slot): to max(needed, n + 1).
//   shrink    when needed < n: to needed. An idle model (no request, nothing
//             in flight or queued over the whole window) goes to its minimum.
//   keep      otherwise (70–80% is the band that keeps advice from flapping),
//             and whenever the capacity is unknown (no measured throughput and
//             no max_in_flight: nothing says how much one replica takes) or
//             the window is shorter than kMinWindowS.
// Counts stay within [min, max]: autoscale's bounds, else [1, unbounded).
// Never below 1: a model without a replica cannot answer (its requests are
// held, then refused), and nothing starts one on a request.
#pragma once

#include <string>
#include <vector>

#include "up/history.h"

namespace carve::up {

inline constexpr double kTargetUtilisation = 0.70;
inline constexpr double kGrowAbove = 0.80;
inline constexpr double kMinWindowS = 10;

struct AdviceInput {
  std::string model;
  WindowTraffic traffic;  // over the window
  int replicas = 0;       // what the spec (with overrides) asks for now
  // Requests/s one replica serves, measured (profiles: rows); 0: unknown.
  double capacity_per_replica = 0;
  int max_in_flight = 0;  // the gateway's limit per replica; 0: none
  int min = 1, max = 0;   // bounds; max 0: none
};

enum class AdviceKind { kKeep, kGrow, kShrink };

struct Advice {
  std::string model;
  AdviceKind kind = AdviceKind::kKeep;
  int from = 0, to = 0;     // replicas
  double utilisation = -1;  // of the replicas it has; -1: unknown
  std::string reason;       // in words, with the numbers
  bool operator==(const Advice&) const = default;
};

Advice AdviseModel(const AdviceInput& in);

const char* AdviceKindName(AdviceKind k);  // "keep", "grow", "shrink"

}  // namespace carve::up
