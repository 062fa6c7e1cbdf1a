// The planner: fleet + models (+ current layouts) → a layout per GPU and a
// replica per slice. A pure function: no I/O, no clock, no shared state. The
// solver's only budget is a count of branch-and-bound nodes, so the same
// request gives the same plan on any machine; when the count runs out the plan
// says so (`node_limit_hit`) and reports its lower bound and gap.
//
// Objective, in order (docs/planning.md):
//   1. every demand met — otherwise `unmet` says what and why;
//   2. fewest GPUs, or least cost when the fleet has costs;
//   3. least slice memory handed out (small slices leave room to grow);
//   4. least change from the current layouts.
// Every MIG layout in a plan passes mig::CheckLayout.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mig/catalog.h"
#include "mig/layout.h"

namespace carve::plan {

// One GPU the planner may use.
struct FleetGpu {
  int index = 0;        // plan-wide, 0..N-1
  std::string node;     // host name ("" for one machine)
  int local_index = 0;  // index on its host
  const mig::GpuModel* model = nullptr;
  double cost_per_month = 0;
  std::vector<mig::Slice> current;  // slices that exist now (MIG on)
  std::string mig_config;  // the node's nvidia.com/mig.config label now ("" = none or unknown)
  // A GPU of a node pool whose layout is not carve's to choose (a managed
  // pool, the device plugin's `single` strategy): `fixed_count` slices of
  // `fixed`, which `current` holds. The plan keeps exactly those slices and
  // only places replicas on them.
  std::string pool = {};           // the node pool ("" = none)
  std::string pool_selector = {};  // the node label that selects it: "key=value"
  const mig::Profile* fixed = nullptr;
  int fixed_count = 0;
};

// A measured option: one replica on `profile` (MIG profile name, or the GPU
// alias for a whole card) serves `throughput` requests/s.
struct Option {
  std::string profile;
  double throughput = 0;
  double latency_ms = 0;  // 0 = not measured
  std::vector<std::string> args;
};

struct ModelDemand {
  std::string name;
  std::string engine = "vllm";
  uint64_t memory_mib = 0;    // one replica; 0 = any slice an option names
  uint64_t overhead_mib = 0;  // part of memory_mib paid on every GPU of a TP group
  int replicas = 0;           // demand in replicas, when throughput == 0
  double throughput = 0;      // demand in requests/s
  double latency_slo_ms = 0;  // options slower than this are ignored; 0 = none
  std::vector<Option> options;
  std::string min_profile;        // "2g.20gb": at least this many compute slices and GB
  bool spread = false;            // replicas on distinct GPUs
  bool share = false;             // may share a slice with other share models
  std::vector<std::string> gpus;  // allowed GPU aliases; empty = any
  int tensor_parallel = 0;        // 0 = decide; >1 = whole GPUs per replica
};

// The search's budget. Its size depends on the program (GPU types × slice
// kinds × models), not on how many GPUs of a type there are: 40 identical
// A100s are one type. Small programs get the large budget.
struct PlanOptions {
  int exact_max_gpus = 32;       // up to this many GPUs: the large budget
  int exact_max_columns = 1500;  // or up to this many integer-program columns
  int exact_nodes = 5000;        // branch-and-bound nodes then (a gap reported if it runs out)
  int heuristic_nodes = 300;     // nodes otherwise (a bound and gap always reported)
  bool baselines = false;        // also compute the two baselines
};

struct PlanRequest {
  std::vector<FleetGpu> fleet;
  std::vector<ModelDemand> models;
  PlanOptions options;
};

struct PlacedReplica {
  int model = 0;                  // index into PlanRequest::models
  uint64_t memory_mib = 0;        // on this slice (per GPU for TP)
  double throughput = 0;          // requests/s this replica is counted for
  double memory_fraction = 0;     // vLLM --gpu-memory-utilization
  std::vector<std::string> args;  // the option's args
  int tp_group = -1;              // replicas spanning GPUs share a group id
};

struct PlannedSlice {
  const mig::Profile* profile = nullptr;  // nullptr: the whole GPU (MIG off)
  int start = 0;
  uint64_t memory_mib = 0;
  bool kept = false;  // exists already at this placement
  std::vector<PlacedReplica> replicas;
  uint64_t used_mib() const;
};

struct PlannedGpu {
  FleetGpu gpu;
  bool mig = true;  // false: whole GPU, MIG off
  std::vector<PlannedSlice> slices;
  bool used() const { return !slices.empty(); }
};

struct ModelResult {
  std::string name;
  int replicas = 0;
  double throughput = 0;       // served requests/s (throughput demand)
  double demand = 0;           // replicas or requests/s asked for
  bool by_throughput = false;  // demand is requests/s
  bool met = false;
  double cost_per_month = 0;  // share of used GPUs' cost, by memory
};

struct Unmet {
  std::string model;
  std::string reason;  // what is missing and why, with what to do
};

struct BaselineResult {
  std::string name;
  int gpus_used = 0;
  double cost = 0;
  bool all_met = false;
};

// A pool of slices that on-demand models time-share (plan/on_demand.h):
// `count` slices of `profile`, planned as the model named "pool:NAME".
struct PoolPlan {
  std::string name;
  std::string profile;
  int count = 0;
  uint64_t largest_mib = 0;         // the largest model it holds (one engine's memory)
  uint64_t slice_mib = 0;           // the profile's memory (the least among `gpus`)
  std::vector<std::string> gpus;    // GPU models (aliases) whose `profile` holds the largest
  std::vector<std::string> models;  // its on-demand models, in spec order
};

struct Plan {
  std::vector<PlannedGpu> gpus;  // every fleet GPU, by index
  std::vector<ModelResult> models;
  std::vector<Unmet> unmet;
  int gpus_used = 0;
  double cost = 0;  // per month, when costs are given
  bool costed = false;
  std::string currency = "USD";  // ISO 4217, what the costs are in (the spec's)
  double lower_bound = 0;        // GPUs (or cost) no plan can beat
  bool optimal = false;          // proven: gpus_used (cost) == the optimum
  bool node_limit_hit = false;   // the search stopped at its node limit before a proof
  bool patterns_cut = false;     // too many ways to share slices to list: no proof, no bound
  int nodes = 0;                 // branch-and-bound nodes explored (phase 1)
  double gap = 0;                // (value - lower_bound) / value
  std::string method;            // "exact" or "heuristic": which budget (PlanOptions)
  double solve_seconds = 0;
  uint64_t memory_total_mib = 0, memory_allocated_mib = 0, memory_used_mib = 0;
  int compute_total = 0, compute_allocated = 0;
  int stranded_slices = 0;  // slices with no replica (kept from current layouts)
  std::vector<BaselineResult> baselines;
  std::vector<PoolPlan> pools = {};  // filled by PlanSpec (spec_plan.h); MakePlan leaves it empty
};

Plan MakePlan(const PlanRequest& request);

}  // namespace carve::plan
