// carve gpus: every GPU with its MIG mode, memory and layout picture.
#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "device/slice_ref.h"
#include "render/layout_bar.h"
#include "render/machine_json.h"
#include "render/style.h"
#include "render/table.h"

namespace carve::cli {

namespace {

Status Run(const Globals& g) {
  CARVE_ASSIGN_OR_RETURN(auto machine, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto gpus, machine->Gpus());
  if (g.json) {
    fmt::print("{}\n", render::GpusJson(gpus).dump(2));
    return Status::Ok();
  }
  auto st = render::Style::ForStdout(g.no_color);
  if (gpus.empty()) fmt::print("No GPUs.\n");
  for (const auto& gpu : gpus) {
    std::string what = !gpu.mig_capable || !gpu.mig.current
                           ? "   whole GPU"
                           : fmt::format("   {} slice{}", gpu.gpu_instances.size(),
                                         gpu.gpu_instances.size() == 1 ? "" : "s");
    fmt::print("{}  {}   {}   {}   {} total{}\n", st.Bold(fmt::format("GPU {}", gpu.index)),
               render::PadRight(gpu.name, 24), render::ShortUuid(gpu.uuid),
               render::MigModeText(gpu, st), render::Gib(gpu.memory_total_mib, 1), what);
    if (!gpu.model)
      fmt::print("       {}\n", st.Yellow("not in carve's catalogue: shown as NVML reports it"));
    if (gpu.mig_capable && gpu.mig.current)
      for (const auto& line : render::DrawGpu(gpu)) fmt::print("       {}\n", line);
    for (const auto& line : render::FaultLines(gpu, st)) fmt::print("       {}\n", line);
  }
  return Status::Ok();
}

// The MIG UUID of one slice now, for scripts (carve render docker's).
Status PrintUuid(const Globals& g, const std::string& text) {
  CARVE_ASSIGN_OR_RETURN(device::SliceRef ref, device::ParseSliceRef(text));
  CARVE_ASSIGN_OR_RETURN(auto machine, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto gpus, machine->Gpus());
  auto found = device::FindSlice(gpus, ref);
  if (!found.ok())
    return found.status().WithHint(
        "Create the plan's layout first: carve plan SPEC --write layout.yaml && carve apply "
        "layout.yaml (or carve up SPEC).");
  fmt::print("{}\n", found->uuid);
  return Status::Ok();
}

}  // namespace

void AddGpus(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("gpus", "List GPUs: MIG mode (current/pending), memory, layout");
  auto uuid = std::make_shared<std::string>();
  cmd->add_option("--uuid", *uuid,
                  "Print only the MIG UUID SLICE has now (0:3g.40gb@4; 0: the GPU's)")
      ->type_name("SLICE");
  cmd->callback(Body(g, [&g, uuid] { return uuid->empty() ? Run(g) : PrintUuid(g, *uuid); }));
}

}  // namespace carve::cli
