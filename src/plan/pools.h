// Node-pool advice (carve plan --pools): the question a managed provider's
// pool form asks (which GPU type, which one MIG profile, how many GPUs) put
// to the same optimiser. Every GPU type of the menu (the request's fleet:
// its GPU models and prices; each may be bought up to its listed count per
// pool) becomes one candidate pool per plain profile, its GPUs fixed at that
// profile and filled (what a managed pool carves), plus one of whole GPUs;
// the plan on those candidates picks the pools. Against it, the best mixed
// layout on the menu as it is: the difference is the price of one profile
// per pool. Pure, like MakePlan.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.h"

namespace carve::plan {

struct PoolChoice {
  std::string name;                       // "<gpu>-<profile>" (or "<gpu>-whole")
  const mig::GpuModel* model = nullptr;   // the GPU (its MIG-capable model for a whole pool too)
  const mig::Profile* profile = nullptr;  // nullptr: whole GPUs, MIG off
  int gpus = 0;                           // GPUs the plan uses
  int slices_per_gpu = 0;                 // filled: as many as a GPU holds; else the most one uses
  double cost = 0;                        // per month, when the menu has prices
  std::vector<std::pair<std::string, int>> replicas;  // model → replicas in the pool
};

struct PoolAdvice {
  bool fill = false;              // every GPU of a pool carved full with its profile
  std::vector<PoolChoice> pools;  // by name
  Plan plan;   // the plan on the pools (fixed GPUs; idle slices dropped unless fill)
  Plan mixed;  // the best mixed layout on the same menu
  // GPU models the pools use more of than the menu lists (each pool may use
  // up to that count): "rtx-pro-6000: 6 in pools, the menu lists 4".
  std::vector<std::string> beyond_menu;
};

PoolAdvice AdvisePools(const PlanRequest& menu, bool fill);

}  // namespace carve::plan
