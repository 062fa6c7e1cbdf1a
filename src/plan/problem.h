// The planning problem in the planner's own terms, built once from a
// PlanRequest and shared by the solver, the assignment and the baselines.
//
// GPUs of the same model and price form a type. On a type, a "kind" is a
// slot shape: a plain MIG profile (no +me/-me/+gfx variant: media engines do
// not matter for serving, and the variants only duplicate layouts), or the
// whole card for a GPU without MIG. A type's layouts are the distinct profile
// counts of its maximal valid layouts (mig::EnumerateMaximal restricted to
// plain profiles); any sub-multiset of one is valid, so a replica set fits a
// GPU iff its slots are covered by one of them. Internal to plan/.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.h"

namespace carve::plan {

struct Kind {
  const mig::Profile* profile = nullptr;  // nullptr = whole GPU
  std::string name;                       // profile name or GPU alias
  uint64_t memory_mib = 0;
  int compute = 0;  // compute slices (whole GPU: the GPU's, or 1 without MIG)
};

struct LayoutCounts {
  std::vector<int> count;           // per kind
  std::vector<mig::Slice> example;  // one valid layout with these counts
};

struct GpuType {
  const mig::GpuModel* model = nullptr;
  // A fixed pool's GPUs (FleetGpu::fixed): one kind, one layout, never re-carved.
  const mig::Profile* fixed = nullptr;
  double cost = 1;           // per GPU in the objective (1 without costs)
  std::vector<int> members;  // positions in PlanRequest::fleet
  std::vector<Kind> kinds;
  std::vector<LayoutCounts> layouts;
};

// What placing one replica of a model on a kind is worth.
struct Fit {
  double value = 0;  // demand it covers (1 replica, or its requests/s); 0 = not allowed
  int option = -1;   // the ModelDemand::options row used
};

// Shared slices of one kind are filled with patterns: sets of share models
// (one replica each) whose memory fits the slice together. Only maximal sets
// are kept (every subset of a pattern fits too, and a replica a slice could
// hold need not be placed), up to kMaxPatterns per kind; past that the list
// is cut and the plan claims no optimality.
constexpr size_t kMaxPatterns = 2000;
using Pattern = std::vector<int>;  // model indices, ascending

struct Problem {
  const PlanRequest* request = nullptr;
  std::vector<GpuType> types;
  std::vector<int> type_of;                        // [fleet position] → type
  std::vector<std::vector<std::vector<Fit>>> fit;  // [type][kind][model]
  std::vector<std::vector<int>> tp;                // [type][model]: GPUs per TP replica, 0 = none
  std::vector<Fit> tp_fit;                         // [model]: value of one TP replica
  std::vector<double> demand;                      // [model] in value units
  // Bounds on what the fleet can hold, so that absurd demand (throughput 1e12
  // at 1 request/s a replica) is capped before it reaches an int or the LP:
  int slices = 0;                     // slices (or whole GPUs) in its fullest layouts
  std::vector<double> most_replicas;  // [model] more than any plan can place
  std::vector<bool> excluded;         // [model] cannot be served at all
  std::vector<Unmet> unmet;           // why, for excluded models
  std::vector<std::vector<std::vector<Pattern>>> patterns;  // [type][kind] shared-slice fillings
  bool patterns_cut = false;  // some kind had more than kMaxPatterns (no optimality proof)
  std::vector<std::vector<int>> frontier;  // [model] options no other one dominates
  bool costed = false;
  int total_gpus = 0;
};

Problem BuildProblem(const PlanRequest& request);

// The most demand one replica of model i can cover anywhere (its value unit).
double BestValue(const Problem& p, size_t i);

// The plain-profile kinds and maximal layouts of one GPU model (cached).
const std::vector<Kind>& KindsOf(const mig::GpuModel& gpu);
const std::vector<LayoutCounts>& LayoutsOf(const mig::GpuModel& gpu);

// Whether `kind` on `gpu` satisfies a min_profile like "2g.20gb".
bool MeetsMinProfile(const Kind& kind, const mig::GpuModel& gpu, const std::string& min_profile);

}  // namespace carve::plan
