#include "plan/spec_plan.h"

#include <fmt/format.h>

#include <chrono>

#include "plan/fleet.h"
#include "plan/from_spec.h"
#include "plan/on_demand.h"

namespace carve::plan {

Result<std::map<std::string, spec::ModelFiles>> ReadEstimateFiles(const spec::Spec& spec) {
  std::map<std::string, spec::ModelFiles> files;
  for (const auto& m : spec.models) {
    if (!m.estimate) continue;
    auto read = spec::ReadModelFilesFor(*m.estimate);
    if (!read.ok())
      return read.status().Prefixed(
          fmt::format("{}: model '{}' estimate", m.estimate->where.str(), m.name));
    files[m.name] = std::move(*read);
  }
  return files;
}

Result<std::vector<ModelDemand>> DemandsOf(const spec::Spec& spec) {
  if (spec.models.empty())
    return Status::InvalidArgument(fmt::format("{}: no models to plan", spec.file),
                                   "Add a models: list (docs/spec.md).");
  CARVE_ASSIGN_OR_RETURN(auto files, ReadEstimateFiles(spec));
  CARVE_ASSIGN_OR_RETURN(auto sized, DemandsFromSpec(spec, files, mig::Catalog::Builtin()));
  std::vector<ModelDemand> out;
  for (auto& s : sized) out.push_back(std::move(s.demand));
  return out;
}

Result<std::vector<ModelDemand>> DemandsOnFleet(const spec::Spec& spec,
                                                const std::vector<FleetGpu>& fleet,
                                                std::vector<PoolPlan>* pools) {
  CARVE_ASSIGN_OR_RETURN(auto demands, DemandsOf(spec));
  CARVE_ASSIGN_OR_RETURN(*pools, SizePools(spec, demands, GpuModelsOf(fleet)));
  return WithPools(demands, spec, *pools);
}

Result<Plan> PlanSpec(const spec::Spec& spec, std::vector<FleetGpu> fleet, bool baselines) {
  PlanRequest req;
  std::vector<PoolPlan> pools;
  CARVE_ASSIGN_OR_RETURN(req.models, DemandsOnFleet(spec, fleet, &pools));
  req.fleet = std::move(fleet);
  req.options.baselines = baselines;
  auto t0 = std::chrono::steady_clock::now();
  Plan result = MakePlan(req);
  result.currency = spec.currency;
  result.pools = std::move(pools);
  result.solve_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

Result<Plan> PlanSpecOnMachine(const spec::Spec& spec, const std::vector<device::Gpu>& gpus) {
  CARVE_ASSIGN_OR_RETURN(auto fleet, FleetFromMachine(gpus));
  return PlanSpec(spec, std::move(fleet), /*baselines=*/false);
}

Result<Plan> PlanSpecOnMachineFresh(const spec::Spec& spec, const std::vector<device::Gpu>& gpus) {
  CARVE_ASSIGN_OR_RETURN(auto fleet, FleetFromMachine(gpus));
  for (auto& g : fleet) g.current.clear();
  return PlanSpec(spec, std::move(fleet), /*baselines=*/false);
}

}  // namespace carve::plan
