// Planning a spec: its models sized (reading each estimate's files) and
// placed on a fleet. The one way `carve plan`, `carve render` and `carve up`
// plan a spec. The planner itself (plan.h) stays pure; this reads the files
// an estimate names and times the solve.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "device/machine.h"
#include "plan/plan.h"
#include "spec/model_files.h"
#include "spec/spec.h"
#include "util/status.h"

namespace carve::plan {

// Every estimate's files, keyed by model name. Errors name the estimate's
// file:line.
Result<std::map<std::string, spec::ModelFiles>> ReadEstimateFiles(const spec::Spec& spec);

// The spec's models as demands (sized, options checked).
Result<std::vector<ModelDemand>> DemandsOf(const spec::Spec& spec);

// DemandsOf with every on-demand model replaced by its pool, sized on the
// fleet's GPU models (on_demand.h); `pools` gets the pools.
Result<std::vector<ModelDemand>> DemandsOnFleet(const spec::Spec& spec,
                                                const std::vector<FleetGpu>& fleet,
                                                std::vector<PoolPlan>* pools);

// Sizes the spec's models and plans them on `fleet`, each pool of on-demand
// models as a model of its own (on_demand.h; the plan's `pools` lists them); `baselines` also
// computes the two baselines. The plan's currency is the spec's.
// kInvalidArgument for a spec without models.
Result<Plan> PlanSpec(const spec::Spec& spec, std::vector<FleetGpu> fleet, bool baselines);

// PlanSpec on a machine's GPUs as they are now (their slices kept where they
// can be): what `carve up` serves.
Result<Plan> PlanSpecOnMachine(const spec::Spec& spec, const std::vector<device::Gpu>& gpus);

// PlanSpec on a machine's GPUs as if they held no slices: the plan least
// change would not choose (`carve rebalance`'s fresh candidate).
Result<Plan> PlanSpecOnMachineFresh(const spec::Spec& spec, const std::vector<device::Gpu>& gpus);

}  // namespace carve::plan
