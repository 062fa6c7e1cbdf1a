// What the verbs share: one Add function per verb (each defined in its
// verb_<name>.cpp, called from cli.cpp's table), and the few helpers more than
// one verb uses. Logic a test wants lives in the modules, not here.
#pragma once

#include <string>

#include "cli/cli.h"
#include "plan/plan.h"
#include "spec/spec.h"

namespace carve::cli {

void AddGpus(CLI::App& app, Globals& globals);
void AddProfiles(CLI::App& app, Globals& globals);
void AddMig(CLI::App& app, Globals& globals);
void AddSim(CLI::App& app, Globals& globals);
void AddCatalog(CLI::App& app, Globals& globals);
void AddPlan(CLI::App& app, Globals& globals);
void AddSize(CLI::App& app, Globals& globals);
void AddApply(CLI::App& app, Globals& globals);
void AddAssert(CLI::App& app, Globals& globals);
void AddExport(CLI::App& app, Globals& globals);
void AddDoctor(CLI::App& app, Globals& globals);
void AddRender(CLI::App& app, Globals& globals);
void AddGateway(CLI::App& app, Globals& globals);
void AddEngine(CLI::App& app, Globals& globals);
void AddUp(CLI::App& app, Globals& globals);
void AddDown(CLI::App& app, Globals& globals);
void AddStatus(CLI::App& app, Globals& globals);
void AddRebalance(CLI::App& app, Globals& globals);
void AddPool(CLI::App& app, Globals& globals);
void AddTop(CLI::App& app, Globals& globals);
void AddAdvise(CLI::App& app, Globals& globals);

// The whole of a layout file (bounded: util/read_file.h); kNotFound naming it
// when it does not exist (carve apply, assert, export).
Result<std::string> ReadLayoutText(const std::string& path);
// Where the apply journal lives: `flag` (--state-dir) when given, else
// SIMFILE.d next to the simulator's state file, else /var/lib/carve
// (carve apply, doctor, up).
std::string StateDirFor(const Globals& globals, const std::string& flag);
// The directory of carve up's service: `flag` (--state-dir) when given, else
// SIMFILE.d/up on the simulator, else /run/carve (carve up, down, status, top).
std::string UpStateDir(const Globals& globals, const std::string& flag);
// Plans `spec` for the fleet the flags name: --fleet, else --nodes (a
// `kubectl get nodes -o json` file), else the spec's `fleet:`, else this
// machine's GPUs (carve plan, render).
Result<plan::Plan> PlanSpec(const Globals& globals, const spec::Spec& spec,
                            const std::string& fleet, const std::string& nodes, bool compare);

}  // namespace carve::cli
