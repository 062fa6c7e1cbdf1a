// carve plan SPEC: which layout on which GPU, which replica on which slice.
#include <fmt/format.h>

#include <fstream>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "plan/fleet.h"
#include "plan/pools.h"
#include "plan/spec_plan.h"
#include "render/plan_render.h"
#include "render/pools_render.h"
#include "spec/spec.h"
#include "util/read_file.h"

namespace carve::cli {
namespace {

struct PlanFlags {
  std::string spec;
  std::string fleet;
  std::string nodes;
  std::string write;
  bool compare = false;
  bool pools = false, fill = false;
};

// The fleet, from the first source given: --fleet, --nodes, the spec, the machine.
Result<std::vector<plan::FleetGpu>> Fleet(const Globals& g, const std::string& fleet,
                                          const std::string& nodes, const spec::Spec& spec) {
  const auto& cat = mig::Catalog::Builtin();
  if (!fleet.empty()) return plan::FleetFromFlag(fleet, cat);
  if (!nodes.empty()) {
    CARVE_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(nodes, kMaxConfigBytes, "node list"));
    return plan::FleetFromNodes(text, cat);
  }
  if (spec.fleet) return plan::FleetFromSpec(*spec.fleet, cat);
  auto machine = OpenMachine(g);
  if (!machine.ok())
    return Status::Error(
        machine.status().code(),
        fmt::format("{} has no fleet: and there is no machine to plan for ({})", spec.file,
                    machine.status().message()),
        "Name a fleet: --fleet h100-80gb:2 (or a fleet: section in the spec, or --nodes "
        "NODES.json), or plan for a machine: --sim FILE, or a host with the NVIDIA driver.");
  CARVE_ASSIGN_OR_RETURN(auto gpus, (*machine)->Gpus());
  return plan::FleetFromMachine(gpus);
}

}  // namespace

// The spec's models planned on the fleet of the first source given (shared
// with `carve render`).
Result<plan::Plan> PlanSpec(const Globals& g, const spec::Spec& spec, const std::string& fleet,
                            const std::string& nodes, bool compare) {
  if (spec.models.empty())
    return Status::InvalidArgument(fmt::format("{}: no models to plan", spec.file),
                                   "Add a models: list (docs/spec.md).");
  CARVE_ASSIGN_OR_RETURN(auto gpus, Fleet(g, fleet, nodes, spec));
  return plan::PlanSpec(spec, std::move(gpus), compare);
}

namespace {

// --pools: the spec's fleet (or --fleet, --nodes) as a menu of GPU types and prices.
Status RunPools(Globals& g, const PlanFlags& f, const spec::Spec& spec) {
  CARVE_ASSIGN_OR_RETURN(auto menu, Fleet(g, f.fleet, f.nodes, spec));
  std::vector<plan::PoolPlan> pools;  // on-demand models' pools, advised as models "pool:NAME"
  CARVE_ASSIGN_OR_RETURN(auto demands, plan::DemandsOnFleet(spec, menu, &pools));
  plan::PlanRequest req;
  req.fleet = std::move(menu);
  req.models = std::move(demands);
  plan::PoolAdvice advice = plan::AdvisePools(req, f.fill);
  advice.plan.currency = advice.mixed.currency = spec.currency;
  if (g.json)
    fmt::print("{}\n", render::PoolsJson(advice).dump(2));
  else
    fmt::print("{}", render::PoolsText(advice));
  if (!advice.plan.unmet.empty())
    return Status::Insufficient(
        fmt::format("{} model(s) not served by any pools of this menu", advice.plan.unmet.size()),
        "Add GPU types or counts to the menu (fleet:, --fleet), or lower demand.");
  return Status::Ok();
}

Status Run(Globals& g, const PlanFlags& f) {
  CARVE_ASSIGN_OR_RETURN(spec::Spec spec, spec::LoadSpec(f.spec));
  if (f.pools) return RunPools(g, f, spec);
  CARVE_ASSIGN_OR_RETURN(plan::Plan result, PlanSpec(g, spec, f.fleet, f.nodes, f.compare));
  if (g.json) {
    auto j = render::PlanJson(result);
    j["solve_seconds"] = result.solve_seconds;
    fmt::print("{}\n", j.dump(2));
  } else {
    fmt::print("{}", render::PlanText(result, f.compare));
  }
  if (!f.write.empty()) {
    std::ofstream out(f.write);
    out << render::PlanLayoutsYaml(result, f.spec);
    if (!out) return Status::Io(fmt::format("cannot write '{}'", f.write));
    if (!g.json)
      fmt::print("\nWrote the layouts to {} (carve apply reads its gpus: section).\n", f.write);
  }
  if (!result.unmet.empty())
    return Status::Insufficient(
        fmt::format("{} model(s) not fully served; see Unmet above", result.unmet.size()),
        "Add GPUs (fleet:, --fleet), lower demand, or shrink the models (dtype, max_model_len).");
  return Status::Ok();
}

}  // namespace

void AddPlan(CLI::App& app, Globals& g) {
  auto* cmd =
      app.add_subcommand("plan", "Choose MIG layouts and place every replica (from a spec)");
  auto f = std::make_shared<PlanFlags>();
  cmd->add_option("spec", f->spec, "The spec (carve.yaml)")->required();
  cmd->add_option("--fleet", f->fleet, "GPUs to plan for: ALIAS[:COUNT[:COST_PER_MONTH]],…")
      ->type_name("LIST");
  cmd->add_option("--nodes", f->nodes,
                  "Plan for a Kubernetes node list (kubectl get nodes -o json)")
      ->type_name("FILE");
  cmd->add_flag("--compare", f->compare, "Also show two baselines (whole GPUs; first fit)");
  cmd->add_flag(
      "--pools", f->pools,
      "Node-pool advice: which GPU type and one MIG profile per pool, how many GPUs, at what cost, "
      "against the best mixed layout (the fleet is the menu of GPU types and prices)");
  cmd->add_flag(
         "--fill", f->fill,
         "With --pools: carve every GPU of a pool full with its profile, as managed pools do")
      ->needs(cmd->get_option("--pools"));
  cmd->add_option("--write", f->write, "Write the layouts (gpus: section) to FILE for carve apply")
      ->type_name("FILE");
  cmd->callback(Body(g, [&g, f] { return Run(g, *f); }));
}

}  // namespace carve::cli
