// carve assert FILE [-c NAME]: does every GPU hold its layout, placement-exactly?
// carve export [--format carve|mig-parted] [-c NAME]: the layout the GPUs hold now.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "apply/changes.h"
#include "apply/journal.h"
#include "apply/layout_file.h"
#include "apply/mig_parted.h"
#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"

namespace carve::cli {

namespace {

using nlohmann::ordered_json;

struct Opts {
  std::string file, config, format = "carve";
};

std::vector<std::string> Differences(const apply::GpuDiff& d) {
  std::vector<std::string> out;
  if (d.mode_change)
    out.push_back(
        fmt::format("MIG is {}{}, the layout says {}", d.before.mig.current ? "on" : "off",
                    d.before.mig.pending != d.before.mig.current ? " (a change is pending)" : "",
                    d.after.mig ? "on" : "off"));
  for (const auto& c : d.destroy) out.push_back(fmt::format("has {} ({})", c.spec.Name(), c.why));
  for (const auto& c : d.create) out.push_back("lacks " + c.spec.Name());
  return out;
}

ordered_json AssertJson(const apply::Changes& plan) {
  ordered_json gpus = ordered_json::array();
  for (const auto& d : plan.gpus)
    gpus.push_back(
        {{"index", d.before.index}, {"match", d.empty()}, {"differences", Differences(d)}});
  return {{"match", plan.empty()}, {"gpus", gpus}};
}

Result<bool> Assert(const Globals& g, const Opts& o) {
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  if (std::string note = apply::PendingNote(StateDirFor(g, "")); !note.empty())
    std::fprintf(stderr, "carve: %s\n", note.c_str());
  CARVE_ASSIGN_OR_RETURN(std::string text, ReadLayoutText(o.file));
  CARVE_ASSIGN_OR_RETURN(auto gpus, m->Gpus());
  CARVE_ASSIGN_OR_RETURN(auto layouts, apply::LoadLayoutFile(text, o.file, o.config, gpus));
  CARVE_ASSIGN_OR_RETURN(apply::Changes plan, apply::MakeChanges(gpus, layouts, false));
  if (g.json) {
    fmt::print("{}\n", AssertJson(plan).dump(2));
    return plan.empty();
  }
  for (const auto& d : plan.gpus) {
    if (d.empty()) {
      fmt::print("GPU {}: matches ({})\n", d.before.index, apply::Describe(d.after));
      continue;
    }
    fmt::print("GPU {}: differs:\n", d.before.index);
    for (const auto& line : Differences(d)) fmt::print("  {}\n", line);
  }
  fmt::print("{}\n", plan.empty()
                         ? "Every GPU the layout names holds it, placement-exactly."
                         : "Not applied; carve apply " + o.file + " --dry-run shows the change.");
  return plan.empty();
}

ordered_json ExportJson(const std::vector<device::Gpu>& gpus) {
  ordered_json out = ordered_json::array();
  for (const auto& gpu : gpus) {
    apply::GpuLayout l = apply::LayoutOf(gpu);
    ordered_json slices = ordered_json::array();
    for (const auto& s : l.slices) {
      ordered_json cis = ordered_json::array();
      for (const auto* c : s.cis) cis.push_back(c->NameIn(*s.profile));
      slices.push_back({{"profile", s.profile->name}, {"start", *s.start}, {"compute", cis}});
    }
    out.push_back({{"index", gpu.index}, {"uuid", gpu.uuid}, {"mig", l.mig}, {"slices", slices}});
  }
  return {{"gpus", out}};
}

Status Export(const Globals& g, const Opts& o) {
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto gpus, m->Gpus());
  if (g.json) {
    fmt::print("{}\n", ExportJson(gpus).dump(2));
  } else if (o.format == "mig-parted") {
    fmt::print("{}", apply::WriteMigParted(gpus, o.config.empty() ? "current" : o.config));
  } else {
    fmt::print("{}", apply::WriteCarveLayout(gpus));
  }
  return Status::Ok();
}

}  // namespace

void AddAssert(CLI::App& app, Globals& g) {
  auto o = std::make_shared<Opts>();
  auto* cmd =
      app.add_subcommand("assert", "Exit 0 iff the GPUs hold FILE's layout placement-exactly");
  cmd->add_option("file", o->file, "Layout file: carve.yaml with gpus:, or a mig-parted config")
      ->required();
  cmd->add_option("-c,--config", o->config, "The mig-parted config to use");
  cmd->callback([&g, o] {
    auto match = Assert(g, *o);
    g.exit_code = !match.ok() ? Report(match.status()) : *match ? kExitOk : kExitFailed;
  });
}

void AddExport(CLI::App& app, Globals& g) {
  auto o = std::make_shared<Opts>();
  auto* cmd =
      app.add_subcommand("export", "Print the layout the GPUs hold now (carve.yaml or mig-parted)");
  cmd->add_option("--format", o->format, "carve (default) or mig-parted")
      ->check(CLI::IsMember({"carve", "mig-parted"}));
  cmd->add_option("-c,--config", o->config, "Name of the mig-parted config (default: current)");
  cmd->callback(Body(g, [&g, o] { return Export(g, *o); }));
}

}  // namespace carve::cli
