// carve doctor: what carve sees and what to do next. Driver, NVML and CUDA
// versions; per GPU its MIG capability, current and pending mode, persistence
// mode, the processes that block a MIG change, where the catalogue and the
// driver disagree, and the exact next command.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "render/style.h"

namespace carve::cli {
namespace {

using nlohmann::ordered_json;

struct Advice {
  std::string state;  // one line: where the GPU stands
  std::string next;   // the command to run, or empty
};

std::string Pids(const device::Gpu& g) {
  std::string out;
  for (const auto& p : g.processes) out += (out.empty() ? "" : " ") + std::to_string(p.pid);
  return out;
}

Advice AdviceFor(const device::Gpu& g) {
  std::string i = std::to_string(g.index);
  if (!g.mig_capable) return {"no MIG: use it as a whole GPU", ""};
  if (!g.model) return {"not in carve's catalogue: carve lists it but will not partition it", ""};
  if (g.mig.pending != g.mig.current) {
    std::string want = g.mig.pending ? "enable" : "disable";
    if (!g.processes.empty())
      return {fmt::format("MIG {} is pending: processes {} hold the GPU", want, Pids(g)),
              fmt::format("stop processes {}, then: carve mig {} -i {}", Pids(g), want, i)};
    return {fmt::format("MIG {} is pending: nothing holds the GPU now", want),
            fmt::format("carve mig {} -i {}", want, i)};
  }
  if (!g.mig.current)
    return {g.processes.empty() ? "MIG off" : fmt::format("MIG off; processes {} would block enabling it", Pids(g)),
            g.processes.empty() ? fmt::format("carve mig enable -i {}", i)
                                : fmt::format("stop processes {}, then: carve mig enable -i {}", Pids(g), i)};
  if (g.gpu_instances.empty())
    return {"MIG on, no slices yet", fmt::format("carve profiles -i {0}   then: carve mig create -i {0} PROFILE,…", i)};
  return {fmt::format("MIG on, {} slice(s)", g.gpu_instances.size()), fmt::format("carve mig list -i {}", i)};
}

ordered_json GpuJson(const device::Gpu& g, const Advice& a) {
  ordered_json procs = ordered_json::array();
  for (const auto& p : g.processes)
    procs.push_back({{"pid", p.pid}, {"name", p.name}, {"memory_mib", p.memory_mib}});
  return {{"index", g.index},
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

void PrintGpu(const device::Gpu& g, const Advice& a, const render::Style& st) {
  fmt::print("{}  {}  ({})\n", st.Bold(fmt::format("GPU {}", g.index)), g.name,
             g.model ? g.model->alias : "not in the catalogue");
  fmt::print("  MIG        {}\n", !g.mig_capable ? "not supported"
                                  : fmt::format("current {}, pending {}", g.mig.current ? "on" : "off",
                                                g.mig.pending ? "on" : "off"));
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
      fmt::print("{}\n", ordered_json{{"backend", nullptr}, {"error", machine.status().message()}}.dump(2));
    return machine.status();
  }
  CARVE_ASSIGN_OR_RETURN(device::DriverInfo d, (*machine)->Driver());
  CARVE_ASSIGN_OR_RETURN(auto gpus, (*machine)->Gpus());
  if (g.json) {
    ordered_json arr = ordered_json::array();
    for (const auto& gpu : gpus) arr.push_back(GpuJson(gpu, AdviceFor(gpu)));
    fmt::print("{}\n", ordered_json{{"backend", d.backend}, {"driver_version", d.driver_version},
                                    {"nvml_version", d.nvml_version}, {"cuda_version", d.cuda_version},
                                    {"gpus", arr}}.dump(2));
    return Status::Ok();
  }
  auto st = render::Style::ForStdout(g.no_color);
  fmt::print("backend {}   driver {}   NVML {}   CUDA {}\n", d.backend, d.driver_version,
             d.nvml_version.empty() ? "?" : d.nvml_version, d.cuda_version.empty() ? "?" : d.cuda_version);
  if (gpus.empty()) fmt::print("No GPUs.\n");
  for (const auto& gpu : gpus) PrintGpu(gpu, AdviceFor(gpu), st);
  return Status::Ok();
}

}  // namespace

void AddDoctor(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand(
      "doctor", "Driver versions, MIG state per GPU, what blocks MIG, and what to run next");
  cmd->callback(Body(g, [&g] { return Run(g); }));
}

}  // namespace carve::cli
