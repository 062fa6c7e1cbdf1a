// carve mig enable|disable|create|create-ci|destroy|destroy-ci|list: partition GPUs by hand.
#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "device/slices.h"
#include "mig/profile_ref.h"
#include "render/layout_bar.h"
#include "render/machine_json.h"
#include "render/style.h"
#include "render/table.h"

namespace carve::cli {

namespace {

struct Opts {
  std::vector<std::string> gpus;
  std::string profiles;
  std::vector<std::string> profile_list;
  bool gi_only = false;
  int gi = -1;
  std::vector<int> gis;
  std::vector<int> cis;
  bool all = false;
  bool force = false;
};

Result<device::Gpu> OneGpu(device::Machine& m, const Opts& o) { return SelectOneGpu(m, o.gpus); }

Status SetMode(const Globals& g, const Opts& o, bool on) {
  if (o.gpus.empty())
    return Status::InvalidArgument("name the GPUs with -i N (or -i 0,1,…)",
                                   "Changing MIG mode is never done to every GPU by default.");
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto lock, LockForChanges(*m, true, on ? "mig enable" : "mig disable"));
  CARVE_ASSIGN_OR_RETURN(auto gpus, SelectGpus(*m, o.gpus));
  Status first_failure;
  for (const auto& gpu : gpus) {
    int i = gpu.index;
    auto change = m->SetMigMode(i, on);
    if (!change.ok()) return change.status().Prefixed(fmt::format("GPU {}", i));
    const char* what = on ? "on" : "off";
    if (change->activation.ok()) {
      fmt::print("GPU {}: MIG {}{}.\n", i, what, change->reset_done ? " (the GPU was reset)" : "");
    } else {
      fmt::print("GPU {}: MIG {} is pending: {}\n", i, what, change->activation.message());
      if (first_failure.ok()) first_failure = change->activation;
    }
  }
  return first_failure;
}

std::string CiText(const device::ComputeInstance& ci) {
  return fmt::format("CI {} {} {}", ci.id, ci.profile, ci.uuid);
}

Status Create(const Globals& g, const Opts& o) {
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto lock, LockForChanges(*m, true, "mig create"));
  CARVE_ASSIGN_OR_RETURN(device::Gpu gpu, OneGpu(*m, o));
  if (!gpu.model)
    return Status::NotSupported(fmt::format("GPU {} is not in carve's catalogue", gpu.index));
  std::string text;
  for (const auto& p : o.profile_list) text += p + ",";
  CARVE_ASSIGN_OR_RETURN(auto reqs, mig::ParseSliceList(*gpu.model, text));
  auto made = device::CreateSlices(*m, gpu, reqs, o.gi_only, [&](const device::CreatedSlice& s) {
    fmt::print("GPU {}: created GPU instance {} ({}@{})", gpu.index, s.gi.id, s.gi.profile,
               s.gi.placement.start);
    for (const auto& ci : s.gi.compute_instances) fmt::print(", {}", CiText(ci));
    fmt::print("\n");
    std::fflush(stdout);
  });
  return made.status();  // on failure it says what was undone
}

Status CreateCi(const Globals& g, const Opts& o) {
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto lock, LockForChanges(*m, true, "mig create-ci"));
  CARVE_ASSIGN_OR_RETURN(device::Gpu gpu, OneGpu(*m, o));
  if (!gpu.model)
    return Status::NotSupported(fmt::format("GPU {} is not in carve's catalogue", gpu.index));
  auto gi = std::find_if(gpu.gpu_instances.begin(), gpu.gpu_instances.end(),
                         [&](auto& x) { return x.id == o.gi; });
  if (gi == gpu.gpu_instances.end())
    return Status::NotFound(fmt::format("GPU {} has no GPU instance {}", gpu.index, o.gi),
                            fmt::format("See them: carve mig list -i {}", gpu.index));
  const mig::Profile* p = gpu.model->FindProfileById(gi->profile_id);
  std::vector<const mig::ComputeProfile*> cps;
  for (const auto& ref : o.profile_list) {
    CARVE_ASSIGN_OR_RETURN(const mig::ComputeProfile* cp,
                           mig::ResolveComputeProfile(*gpu.model, *p, ref));
    cps.push_back(cp);
  }
  if (cps.empty()) cps.push_back(gpu.model->DefaultComputeProfile(*p));
  CARVE_ASSIGN_OR_RETURN(auto made, device::CreateComputeInstances(*m, gpu, o.gi, cps));
  for (const auto& ci : made)
    fmt::print("GPU {}: GPU instance {}: created {}\n", gpu.index, o.gi, CiText(ci));
  return Status::Ok();
}

// --gi's ids, or with --all every GPU instance on `gpu`.
std::vector<int> NamedGpuInstances(const Opts& o, const device::Gpu& gpu) {
  std::vector<int> gis = o.gis;
  if (o.all)
    for (const auto& gi : gpu.gpu_instances) gis.push_back(gi.id);
  return gis;
}

void PrintDestroyed(const device::Gpu& gpu, const device::DestroyReport& report) {
  for (const auto& p : report.stopped)
    fmt::print("GPU {}: stopped process {} ({})\n", gpu.index, p.pid, p.name);
  for (const auto& d : report.destroyed) fmt::print("GPU {}: destroyed {}\n", gpu.index, d);
}

Status Destroy(const Globals& g, const Opts& o) {
  if (o.all == !o.gis.empty())
    return Status::InvalidArgument("say what to destroy: --gi ID[,ID…] or --all");
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto lock, LockForChanges(*m, true, "mig destroy"));
  CARVE_ASSIGN_OR_RETURN(device::Gpu gpu, OneGpu(*m, o));
  std::vector<int> gis = NamedGpuInstances(o, gpu);
  if (gis.empty()) {
    fmt::print("GPU {}: no GPU instances to destroy.\n", gpu.index);
    return Status::Ok();
  }
  CARVE_ASSIGN_OR_RETURN(auto report, device::DestroySlices(*m, gpu, gis, o.force));
  PrintDestroyed(gpu, report);
  return Status::Ok();
}

Status DestroyCi(const Globals& g, const Opts& o) {
  if (o.all == !o.gis.empty())
    return Status::InvalidArgument(
        "say which compute instances to destroy: --gi ID[,ID…] or --all");
  if (o.all && !o.cis.empty())
    return Status::InvalidArgument(
        "--ci needs --gi: name the GPU instances the compute instances are in");
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto lock, LockForChanges(*m, true, "mig destroy-ci"));
  CARVE_ASSIGN_OR_RETURN(device::Gpu gpu, OneGpu(*m, o));
  CARVE_ASSIGN_OR_RETURN(auto report, device::DestroyComputeInstances(
                                          *m, gpu, NamedGpuInstances(o, gpu), o.cis, o.force));
  PrintDestroyed(gpu, report);
  if (report.destroyed.empty()) fmt::print("GPU {}: no compute instances to destroy.\n", gpu.index);
  return Status::Ok();
}

// Keeps only GPU instances `gis` (and the processes on them), and only the
// GPUs that hold one; kNotFound when an id is on none of `gpus`.
Status KeepGpuInstances(std::vector<device::Gpu>& gpus, const std::vector<int>& gis) {
  if (gis.empty()) return Status::Ok();
  auto wanted = [&](int id) { return std::find(gis.begin(), gis.end(), id) != gis.end(); };
  std::vector<int> seen;
  for (auto& gpu : gpus) {
    std::erase_if(gpu.gpu_instances, [&](const auto& gi) { return !wanted(gi.id); });
    std::erase_if(gpu.processes, [&](const auto& p) { return !wanted(p.gi); });
    for (const auto& gi : gpu.gpu_instances) seen.push_back(gi.id);
  }
  for (int id : gis)
    if (std::find(seen.begin(), seen.end(), id) == seen.end())
      return Status::NotFound(
          fmt::format("no GPU instance {} on {}", id,
                      gpus.size() == 1 ? fmt::format("GPU {}", gpus[0].index) : "these GPUs"),
          "See them all: carve mig list");
  std::erase_if(gpus, [](const auto& gpu) { return gpu.gpu_instances.empty(); });
  return Status::Ok();
}

Status List(const Globals& g, const Opts& o) {
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto gpus, SelectGpus(*m, o.gpus));
  CARVE_RETURN_IF_ERROR(KeepGpuInstances(gpus, o.gis));
  if (g.json) {
    fmt::print("{}\n", render::GpusJson(gpus).dump(2));
    return Status::Ok();
  }
  auto st = render::Style::ForStdout(g.no_color);
  for (const auto& gpu : gpus) {
    std::string head = fmt::format("{}  {}  {}", st.Bold(fmt::format("GPU {}", gpu.index)),
                                   gpu.name, render::MigModeText(gpu, st));
    while (!head.empty() && head.back() == ' ') head.pop_back();
    fmt::print("{}\n", head);
    if (gpu.gpu_instances.empty()) {
      fmt::print("  {}\n", gpu.mig.current ? "no GPU instances" : "whole GPU");
      continue;
    }
    render::Table t({"GI>", "profile", "placement", "memory used/total>", "CI>", "compute profile",
                     "MIG device UUID"});
    for (const auto& gi : gpu.gpu_instances) {
      std::vector<std::string> row = {
          std::to_string(gi.id), gi.profile,
          fmt::format("{}:{}", gi.placement.start, gi.placement.size),
          fmt::format("{:.2f}/{}", gi.memory_used_mib / 1024.0, render::Gib(gi.memory_total_mib))};
      if (gi.compute_instances.empty()) t.Add(row);
      for (size_t i = 0; i < gi.compute_instances.size(); ++i) {
        const auto& ci = gi.compute_instances[i];
        auto r = i == 0 ? row : std::vector<std::string>{"", "", "", ""};
        r.insert(r.end(), {std::to_string(ci.id), ci.profile, ci.uuid});
        t.Add(r);
      }
    }
    fmt::print("{}", t.Render("  "));
    for (const auto& line : render::FaultLines(gpu, st)) fmt::print("  {}\n", line);
    for (const auto& p : gpu.processes)
      fmt::print("  process {} ({}, {}) on GI {} CI {}\n", p.pid, p.name, render::Gib(p.memory_mib),
                 p.gi, p.ci);
  }
  return Status::Ok();
}

void GpuOption(CLI::App* cmd, Opts& o, const char* help) { AddGpuOption(cmd, o.gpus, help); }

}  // namespace

void AddMig(CLI::App& app, Globals& g) {
  auto* mig = app.add_subcommand("mig", "Enable MIG and create, list and destroy slices");
  mig->require_subcommand(1);
  auto o = std::make_shared<Opts>();

  auto* en = mig->add_subcommand("enable", "Turn MIG on (explains pending modes)");
  GpuOption(en, *o, "GPU or list");
  en->callback(Body(g, [&g, o] { return SetMode(g, *o, true); }));
  auto* dis = mig->add_subcommand("disable", "Turn MIG off (destroy slices first)");
  GpuOption(dis, *o, "GPU or list");
  dis->callback(Body(g, [&g, o] { return SetMode(g, *o, false); }));

  auto* create = mig->add_subcommand(
      "create",
      "Create slices: PROFILE[@START],… by name or id (like -cgi … -C); carve places "
      "the ones without a start");
  GpuOption(create, *o, "GPU");
  create->add_option("profiles", o->profile_list, "e.g. 3g.40gb@4,1g.10gb or 9,19,19")
      ->required()
      ->delimiter(',');
  create->add_flag("--gi-only", o->gi_only, "GPU instances only, no compute instances");
  create->callback(Body(g, [&g, o] { return Create(g, *o); }));

  auto* ci = mig->add_subcommand("create-ci", "Create compute instances inside a GPU instance");
  GpuOption(ci, *o, "GPU");
  ci->add_option("--gi", o->gi, "GPU instance id")->required();
  ci->add_option("profiles", o->profile_list, "1c, 2c.3g.40gb, CI id … (default: the full one)")
      ->delimiter(',');
  ci->callback(Body(g, [&g, o] { return CreateCi(g, *o); }));

  auto* destroy = mig->add_subcommand("destroy", "Destroy slices, compute instances first");
  GpuOption(destroy, *o, "GPU");
  destroy->add_option("--gi", o->gis, "GPU instance ids")->delimiter(',');
  destroy->add_flag("--all", o->all, "Every GPU instance on the GPU");
  destroy->add_flag("--force", o->force, "Stop processes using them first");
  destroy->callback(Body(g, [&g, o] { return Destroy(g, *o); }));

  auto* dci = mig->add_subcommand(
      "destroy-ci", "Destroy compute instances only; their GPU instances stay (like -dci)");
  GpuOption(dci, *o, "GPU");
  dci->add_option("--gi", o->gis, "GPU instance ids")->delimiter(',');
  dci->add_option("--ci", o->cis, "Compute instance ids (default: all in those GPU instances)")
      ->delimiter(',');
  dci->add_flag("--all", o->all, "Every compute instance on the GPU");
  dci->add_flag("--force", o->force, "Stop processes using them first");
  dci->callback(Body(g, [&g, o] { return DestroyCi(g, *o); }));

  auto* list =
      mig->add_subcommand("list", "GPU and compute instances, placements, MIG UUIDs, memory");
  GpuOption(list, *o, "GPU or list (default: all)");
  list->add_option("--gi", o->gis, "Only these GPU instances (like -lci -gi)")->delimiter(',');
  list->callback(Body(g, [&g, o] { return List(g, *o); }));
}

}  // namespace carve::cli
