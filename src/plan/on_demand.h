// On-demand models and the pools they time-share (issue #16, docs/pools.md).
// A pool is `count` slices of one MIG profile; `carve up` starts an on-demand
// model's engine on one of them when a request arrives. Planning never places
// an on-demand model: it places its pool, as one model named "pool:NAME" with
// `count` replicas pinned to the pool's profile, each filling its slice. This
// file sizes the pools (pure, but PoolsOf, which reads estimate files) and
// makes those demands. (plan/pools.h is another thing: node-pool advice.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "device/machine.h"
#include "mig/catalog.h"
#include "plan/plan.h"
#include "spec/spec.h"
#include "util/status.h"

namespace carve::plan {

// A pool's model in a plan is kPoolModelPrefix + the pool's name.
inline constexpr std::string_view kPoolModelPrefix = "pool:";
std::string PoolModelName(const std::string& pool);
bool IsPoolModel(std::string_view model_name);

// The distinct GPU models of a fleet, in fleet order.
std::vector<const mig::GpuModel*> GpuModelsOf(const std::vector<FleetGpu>& fleet);

// Sizes every pool the spec's on-demand models name, on GPUs of `gpu_models`
// (those with MIG count). `demands` are the spec's models sized (DemandsOf),
// on-demand ones included. Per pool:
//   profile: the declared one, else the plain profile with the least memory
//     (then the fewest compute slices) that holds the pool's largest model;
//     a profile's memory is the least among the GPU models on which it holds
//     that model, and the pool runs on those GPU models only (`gpus`);
//   count: the declared one, else the fewest slices of that profile that hold
//     the pool's `resident` largest models, packed by memory (first-fit
//     decreasing).
// kInvalidArgument, naming the pool's line, when no profile holds the largest
// model, or the declared profile is on none of the GPUs or too small for it.
// Pools come in the order their first model appears in the spec.
Result<std::vector<PoolPlan>> SizePools(const spec::Spec& spec,
                                        const std::vector<ModelDemand>& demands,
                                        const std::vector<const mig::GpuModel*>& gpu_models);

// `demands` without the on-demand models, and then one demand per pool:
// "pool:NAME", engine echo, `count` replicas of the pool's profile (an option
// row names it) on its GPU models, each of the profile's memory (slice_mib).
std::vector<ModelDemand> WithPools(const std::vector<ModelDemand>& demands, const spec::Spec& spec,
                                   const std::vector<PoolPlan>& pools);

// SizePools on a machine's GPUs, sizing the models first (this reads the
// files their estimates name).
Result<std::vector<PoolPlan>> PoolsOf(const spec::Spec& spec, const std::vector<device::Gpu>& gpus);

}  // namespace carve::plan
