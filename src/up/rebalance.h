// The rebalance decision (`carve rebalance`, docs/live.md "Rebalance"):
// whether re-planning the running spec is worth the engines it moves.
//
// A candidate is a plan of the running spec on the machine now: `kept` (the
// machine's slices kept where they can be: what a reload gives) or `fresh`
// (planned as if the GPUs held no slices); each after StayPut, so engines that
// can stay where they run do. Rebalancing also frees the GPUs its plan leaves
// unused: their slices are destroyed where only carve's engines (or nothing)
// use them, which a reload leaves alone.
//
// Disruption is an explicit term of the score: each move costs (a move that
// must stop first, its model waiting for the new engine, costs more than a
// make-before-break one), and what a candidate gains is worth moves: a GPU
// freed (in use now, holding nothing after), a model served that waits now.
// The best candidate wins if it gains something and its score is positive;
// else there is nothing to rebalance. Pure: no machine, no engines, no clock.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "apply/target.h"
#include "device/machine.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "up/desired.h"
#include "util/status.h"

namespace carve::up {

// What to re-plan with: none (a plain reload), or one of the candidates.
enum class Replan { kNone, kKept, kFresh };
const char* ReplanName(Replan r);             // "", "kept", "fresh"
Replan ParseReplan(const std::string& name);  // kNone for anything else

// A running replica, as status.json lists it.
struct RunningReplica {
  std::string id;  // "MODEL/N"
  std::string model;
  Slot slot;
  int pid = 0;
};

// What each term is worth, in moves.
struct RebalanceWeights {
  int make_before_break = 1;  // a move: the old engine serves until the new one is ready
  int stop_first = 3;         // a move whose model waits for its new engine
  int temporary_home = 2;     // a stop-first move whose model serves from a temporary home
  int gpu_freed = 4;          // a GPU in use now that holds nothing after (less one newly used)
  int model_met = 4;          // a model with fewer replicas running than wanted, served after
};

struct RebalanceMove {
  std::string id;  // the running replica
  std::string model;
  Slot from, to;
  bool stop_first = false;
  std::string why;           // why it stops first ("" for make-before-break)
  int ready_timeout_ms = 0;  // the new engine's: the longest its model waits (stop-first)
  // A stop-first move's temporary home ("1:1g.10gb@6", moves.h), where its
  // model serves meanwhile; "" when none fits (the model waits).
  std::string temporary = {};
};

// A slice in a before/after picture: where it is and what runs on it.
struct PictureSlice {
  std::string profile;  // "3g.40gb"; "whole" for a GPU with MIG off
  int start = 0, size = 0;
  std::vector<std::string> models;  // the replicas' models; empty: idle
};
struct GpuPicture {
  int gpu = 0;
  int units = 0;  // placement units
  std::vector<PictureSlice> slices;
};

struct Candidate {
  Replan replan = Replan::kKept;
  std::vector<RebalanceMove> moves;
  std::vector<std::string> starts;  // models gaining a replica
  std::vector<std::string> stops;   // running replicas nothing wants
  std::vector<int> gpus_freed;      // in use now, holding nothing after
  std::vector<int> gpus_taken;      // holding nothing now, in use after
  std::vector<std::string> models_met;
  int score = 0;
  std::vector<GpuPicture> after;
  int Cost(const RebalanceWeights& w) const;
};

struct RebalanceDecision {
  bool change = false;
  Candidate chosen;                   // the best candidate (also when !change)
  std::vector<Candidate> considered;  // every candidate, in the order given
  std::vector<GpuPicture> before;
  std::string why;  // "frees GPU 1; 1 move, make-before-break" or why nothing changes
};

// The GPUs `p` leaves unused that hold slices no process other than `ours`
// uses, added to `layouts` as empty MIG layouts (ascending GPU index): what
// frees them.
apply::Layouts FreeUnusedGpus(const plan::Plan& p, const std::vector<device::Gpu>& gpus,
                              const std::set<uint32_t>& ours, apply::Layouts layouts);

// One candidate: `p` (planned with `replan`, StayPut not yet applied) against
// what runs. kInvalidArgument when the plan leaves a model unmet.
Result<Candidate> Evaluate(Replan replan, plan::Plan p, const spec::Spec& spec,
                           const std::vector<device::Gpu>& gpus,
                           const std::vector<RunningReplica>& running,
                           const RebalanceWeights& w = {});

// The best of `candidates`, explained.
RebalanceDecision Decide(std::vector<Candidate> candidates, const std::vector<device::Gpu>& gpus,
                         const std::vector<RunningReplica>& running,
                         const RebalanceWeights& w = {});

// The decision as `carve rebalance --json` prints it (docs/live.md):
//   {"change", "why", "replan", "score", "moves": [{"replica", "model", "from", "to",
//     "kind": "make-before-break"|"stop-first", "why", "unavailable_max_s"}],
//    "starts", "stops", "gpus_freed", "gpus_taken", "models_met",
//    "before": [GPU], "after": [GPU], "considered": [{"replan", "score", "moves",
//    "gpus_freed", "gpus_taken", "models_met"}]}
// GPU: {"gpu", "units", "slices": [{"profile", "start", "size", "models"}]}.
nlohmann::ordered_json RebalanceJson(const RebalanceDecision& d);

}  // namespace carve::up
