// carve profiles [-i N] [--model ALIAS]: what each GPU can still hold, like
// `nvidia-smi mig -lgip` and `-lgipp` together, with a picture of where.
#include <fmt/format.h>

#include <bit>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "mig/capacity.h"
#include "mig/layout.h"
#include "render/style.h"
#include "render/table.h"

namespace carve::cli {
namespace {

using nlohmann::ordered_json;

struct View {
  std::string title;  // "GPU 1 NVIDIA H100 80GB HBM3"
  int index = -1;     // -1: a catalogue model, no machine
  const mig::GpuModel* model = nullptr;
  std::vector<mig::Slice> slices;
  bool mig_on = true;
};

std::string Where(const View& v, const mig::Profile& p) {
  uint64_t held = mig::UnitMask(v.slices), could = mig::UsableUnits(*v.model, v.slices, p);
  std::string out;
  for (int u = 0; u < v.model->placement_units; ++u)
    out += (held >> u & 1) ? "█" : (could >> u & 1) ? "░" : "·";
  return out;
}

void PrintView(const View& v) {
  const mig::GpuModel& m = *v.model;
  uint64_t held = mig::UnitMask(v.slices);
  uint64_t all = (uint64_t{1} << m.placement_units) - 1;
  std::string free =
      (held & all) == all ? "no units free"
      : held == 0         ? "all units free"
                  : fmt::format("{} {} free", std::popcount(all & ~held) == 1 ? "unit" : "units",
                                mig::UnitRuns(all & ~held, m.placement_units));
  uint64_t stranded = mig::StrandedUnits(m, v.slices);
  if (stranded)
    free += fmt::format(" ({} {} stranded: no profile fits)",
                        std::popcount(stranded) == 1 ? "unit" : "units",
                        mig::UnitRuns(stranded, m.placement_units));
  fmt::print("{}: {} placement units, {} compute slices; {}{}\n", v.title, m.placement_units,
             m.compute_slices, free, v.mig_on ? "" : "  (MIG is off: enable it to create these)");
  render::Table t({"id>", "profile", "can add/max>", "memory>", "SMs>", "CE>", "DEC>", "ENC>",
                   "JPG>", "OFA>", "where", "free starts"});
  std::vector<std::string> unverified;
  for (const auto& p : m.profiles) {
    auto starts = mig::FreeStarts(m, v.slices, p);
    std::string s;
    for (int x : starts) s += (s.empty() ? "" : " ") + std::to_string(x);
    if (starts.empty()) s = "—  (" + mig::WhyNoStart(*v.model, v.slices, p) + ")";
    t.Add({std::to_string(p.id), p.name + (p.verified() ? "" : "*"),
           fmt::format("{}/{}", mig::RemainingCapacity(m, v.slices, p), p.max_instances),
           render::Gib(p.memory_mib), std::to_string(p.sm), std::to_string(p.engines.ce),
           std::to_string(p.engines.dec), std::to_string(p.engines.enc),
           std::to_string(p.engines.jpeg), std::to_string(p.engines.ofa), Where(v, p), s});
    if (!p.verified()) {
      std::string fields;
      for (const auto& f : p.unverified) fields += (fields.empty() ? "" : ", ") + f;
      unverified.push_back(fmt::format("{} ({})", p.name, fields));
    }
  }
  fmt::print("{}", t.Render(" "));
  if (!unverified.empty()) {
    std::string list;
    for (const auto& u : unverified) list += (list.empty() ? "" : "; ") + u;
    fmt::print(" * not confirmed on hardware: {}\n", list);
  }
  fmt::print(" where: █ held  ░ could go  · free\n");
}

ordered_json ViewJson(const View& v) {
  const mig::GpuModel& m = *v.model;
  ordered_json profiles = ordered_json::array();
  for (const auto& p : m.profiles) {
    ordered_json placements = ordered_json::array();
    for (const auto& pl : p.placements)
      placements.push_back({{"start", pl.start}, {"size", pl.size}});
    profiles.push_back({{"name", p.name},
                        {"id", p.id},
                        {"nvml_profile", p.nvml_profile},
                        {"memory_mib", p.memory_mib},
                        {"sm", p.sm},
                        {"engines",
                         {{"ce", p.engines.ce},
                          {"dec", p.engines.dec},
                          {"enc", p.engines.enc},
                          {"jpeg", p.engines.jpeg},
                          {"ofa", p.engines.ofa}}},
                        {"max_instances", p.max_instances},
                        {"free_instances", mig::RemainingCapacity(m, v.slices, p)},
                        {"placements", placements},
                        {"free_starts", mig::FreeStarts(m, v.slices, p)},
                        {"verified", p.verified()},
                        {"unverified", p.unverified}});
  }
  return {{"index", v.index < 0 ? ordered_json(nullptr) : ordered_json(v.index)},
          {"model", m.alias},
          {"placement_units", m.placement_units},
          {"compute_slices", m.compute_slices},
          {"mig_on", v.mig_on},
          {"stranded_units", std::popcount(mig::StrandedUnits(m, v.slices))},
          {"profiles", profiles}};
}

struct Opts {
  std::vector<std::string> gpus;
  std::string model;
};

Status Run(const Globals& g, const Opts& o) {
  std::vector<View> views;
  if (!o.model.empty()) {
    CARVE_ASSIGN_OR_RETURN(const mig::GpuModel* m, mig::Catalog::Builtin().Lookup(o.model));
    if (!m->mig) return Status::NotSupported(fmt::format("{} does not support MIG", m->name));
    views.push_back({m->name + " (empty)", -1, m, {}, true});
  } else {
    CARVE_ASSIGN_OR_RETURN(auto machine, OpenMachine(g));
    CARVE_ASSIGN_OR_RETURN(auto gpus, SelectGpus(*machine, o.gpus));
    for (const auto& gpu : gpus) {
      if (!gpu.model || !gpu.model->mig) {
        if (!o.gpus.empty())
          return Status::NotSupported(
              fmt::format("GPU {} ({}) does not support MIG", gpu.index, gpu.name));
        continue;
      }
      View v{
          fmt::format("GPU {} {}", gpu.index, gpu.name), gpu.index, gpu.model, {}, gpu.mig.current};
      for (const auto& gi : gpu.gpu_instances)
        if (const mig::Profile* p = gpu.model->FindProfileById(gi.profile_id))
          v.slices.push_back({p, gi.placement.start, gi.id});
      views.push_back(std::move(v));
    }
  }
  if (g.json) {
    ordered_json arr = ordered_json::array();
    for (const auto& v : views) arr.push_back(ViewJson(v));
    fmt::print("{}\n", ordered_json{{"gpus", arr}}.dump(2));
    return Status::Ok();
  }
  if (views.empty()) fmt::print("No MIG-capable GPUs.\n");
  for (size_t i = 0; i < views.size(); ++i) {
    if (i) fmt::print("\n");
    PrintView(views[i]);
  }
  return Status::Ok();
}

}  // namespace

void AddProfiles(CLI::App& app, Globals& g) {
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("profiles", "GPU-instance profiles: what still fits, and where");
  AddGpuOption(cmd, o->gpus, "GPU or list (default: all)");
  cmd->add_option("-m,--model", o->model, "Show a catalogue model's profiles (no machine needed)");
  cmd->callback(Body(g, [&g, o] { return Run(g, *o); }));
}

}  // namespace carve::cli
