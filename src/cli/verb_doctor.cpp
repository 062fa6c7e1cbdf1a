// carve doctor: what carve sees and what to do next. Driver, NVML and CUDA
// versions; per GPU its MIG capability, current and pending mode, persistence
// mode, the processes that block a MIG change, where the catalogue and the
// driver disagree, and the exact next command; then the checks the MIG
// recipes warn about (device/checks.h), each with its status and fix.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "apply/applied.h"
#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "device/checks.h"
#include "render/style.h"

namespace carve::cli {
namespace {

using nlohmann::ordered_json;

ordered_json GpuJson(const device::Gpu& g, const device::Advice& a) {
  ordered_json procs = ordered_json::array();
  for (const auto& p : g.processes)
    procs.push_back({{"pid", p.pid}, {"name", p.name}, {"memory_mib", p.memory_mib}});
  return {
      {"index", g.index},
      {"name", g.name},
      {"uuid", g.uuid},
      {"model", g.model ? ordered_json(g.model->alias) : ordered_json(nullptr)},
      {"mig", {{"capable", g.mig_capable}, {"current", g.mig.current}, {"pending", g.mig.pending}}},
      {"persistence_mode", g.persistence_mode},
      {"processes", procs},
      {"notes", g.notes},
      {"state", a.state},
      {"next", a.next.empty() ? ordered_json(nullptr) : ordered_json(a.next)}};
}

ordered_json ChecksJson(const std::vector<device::Check>& checks) {
  ordered_json arr = ordered_json::array();
  for (const auto& c : checks)
    arr.push_back({{"check", c.name},
                   {"gpu", c.gpu < 0 ? ordered_json(nullptr) : ordered_json(c.gpu)},
                   {"status", device::CheckStatusName(c.status)},
                   {"detail", c.detail},
                   {"fix", c.fix.empty() ? ordered_json(nullptr) : ordered_json(c.fix)}});
  return arr;
}

void PrintChecks(const std::vector<device::Check>& checks, const render::Style& st) {
  for (const auto& c : checks) {
    std::string status{device::CheckStatusName(c.status)};
    std::string shown = c.status == device::CheckStatus::kOk     ? st.Green(status)
                        : c.status == device::CheckStatus::kFail ? st.Red(status)
                        : c.status == device::CheckStatus::kWarn ? st.Yellow(status)
                                                                 : status;
    fmt::print("  {}{:<{}}{:<19}{}\n", shown, "", 9 - status.size(), c.name, c.detail);
    if (!c.fix.empty()) fmt::print("  {:<28}fix: {}\n", "", c.fix);
  }
}

void PrintGpu(const device::Gpu& g, const device::Advice& a, const render::Style& st) {
  fmt::print("{}  {}  ({})\n", st.Bold(fmt::format("GPU {}", g.index)), g.name,
             g.model ? g.model->alias : "not in the catalogue");
  fmt::print("  MIG        {}\n",
             !g.mig_capable ? "not supported"
                            : fmt::format("current {}, pending {}", g.mig.current ? "on" : "off",
                                          g.mig.pending ? "on" : "off"));
  if (!g.model || !g.model->mig)  // else a check row says it
    fmt::print("  persistence mode {}\n", g.persistence_mode ? "on" : "off");
  for (const auto& p : g.processes)
    fmt::print("  process    {} ({}, {} MiB){}\n", p.pid, p.name, p.memory_mib,
               p.gi >= 0 ? fmt::format(" on GI {} CI {}", p.gi, p.ci) : "");
  for (const auto& n : g.notes) fmt::print("  {}       {}\n", st.Yellow("note"), n);
  fmt::print("  state      {}\n", a.state);
  if (!a.next.empty()) fmt::print("  next       {}\n", a.next);
}

Status Run(const Globals& g) {
  auto machine = OpenMachine(g);
  if (!machine.ok()) {
    if (g.json)
      fmt::print("{}\n",
                 ordered_json{{"backend", nullptr}, {"error", machine.status().message()}}.dump(2));
    return machine.status();
  }
  CARVE_ASSIGN_OR_RETURN(device::DriverInfo d, (*machine)->Driver());
  CARVE_ASSIGN_OR_RETURN(auto gpus, (*machine)->Gpus());
  std::vector<device::Check> checks;
  for (const auto& gpu : gpus)
    for (auto& c : device::GpuChecks(d, gpu)) checks.push_back(std::move(c));
  auto applied = apply::ReadApplied(StateDirFor(g, ""));  // a bad record costs only its row
  auto machine_checks =
      applied.ok()
          ? device::MachineChecks(gpus, *applied)
          : std::vector<device::Check>{{"boot", -1, device::CheckStatus::kUnknown,
                                        applied.status().message(), applied.status().hint()}};
  if (g.json) {
    ordered_json arr = ordered_json::array();
    for (const auto& gpu : gpus) arr.push_back(GpuJson(gpu, device::NextStep(gpu)));
    checks.insert(checks.end(), machine_checks.begin(), machine_checks.end());
    fmt::print("{}\n", ordered_json{{"backend", d.backend},
                                    {"driver_version", d.driver_version},
                                    {"nvml_version", d.nvml_version},
                                    {"cuda_version", d.cuda_version},
                                    {"gpus", arr},
                                    {"checks", ChecksJson(checks)}}
                           .dump(2));
    return Status::Ok();
  }
  auto st = render::Style::ForStdout(g.no_color);
  fmt::print("backend {}   driver {}   NVML {}   CUDA {}\n", d.backend, d.driver_version,
             d.nvml_version.empty() ? "?" : d.nvml_version,
             d.cuda_version.empty() ? "?" : d.cuda_version);
  if (gpus.empty()) fmt::print("No GPUs.\n");
  for (const auto& gpu : gpus) {
    PrintGpu(gpu, device::NextStep(gpu), st);
    std::vector<device::Check> mine;
    std::copy_if(checks.begin(), checks.end(), std::back_inserter(mine),
                 [&](const auto& c) { return c.gpu == gpu.index; });
    PrintChecks(mine, st);
  }
  if (!machine_checks.empty()) fmt::print("{}\n", st.Bold("machine"));
  PrintChecks(machine_checks, st);
  return Status::Ok();
}

}  // namespace

void AddDoctor(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand(
      "doctor", "Driver versions, MIG state per GPU, what blocks MIG, and what to run next");
  cmd->callback(Body(g, [&g] { return Run(g); }));
}

}  // namespace carve::cli
