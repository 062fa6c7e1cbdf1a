// carve catalog [MODEL]: the GPU models carve knows, or one model's profiles.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/verbs.h"
#include "mig/catalog.h"

namespace carve::cli {
namespace {

nlohmann::ordered_json ModelJson(const mig::GpuModel& m) {
  nlohmann::ordered_json j;
  j["alias"] = m.alias;
  j["name"] = m.name;
  j["architecture"] = std::string(mig::ArchName(m.arch));
  j["mig"] = m.mig;
  j["memory_mib"] = m.memory_mib;
  j["sm_count"] = m.sm_count;
  j["verified"] = m.verified();
  j["products"] = nlohmann::ordered_json::array();
  for (const auto& p : m.products)
    j["products"].push_back(
        {{"name", p.name}, {"pci_device_id", fmt::format("0x{:08X}", p.pci_device_id)}});
  if (m.mig) {
    j["placement_units"] = m.placement_units;
    j["compute_slices"] = m.compute_slices;
    j["profiles"] = nlohmann::ordered_json::array();
    for (const auto& p : m.profiles) {
      nlohmann::ordered_json pj;
      pj["name"] = p.name;
      pj["id"] = p.id;
      pj["nvml_profile"] = p.nvml_profile;
      pj["memory_mib"] = p.memory_mib;
      pj["sm"] = p.sm;
      pj["max_instances"] = p.max_instances;
      pj["verified"] = p.verified();
      pj["unverified"] = p.unverified;
      j["profiles"].push_back(pj);
    }
  }
  return j;
}

Status Run(const Globals& g, const std::string& model) {
  const auto& cat = mig::Catalog::Builtin();
  std::vector<const mig::GpuModel*> models;
  if (model.empty()) {
    for (const auto& m : cat.models()) models.push_back(&m);
  } else {
    CARVE_ASSIGN_OR_RETURN(const mig::GpuModel* m, cat.Lookup(model));
    models.push_back(m);
  }
  if (g.json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (auto* m : models) j.push_back(ModelJson(*m));
    fmt::print("{}\n", nlohmann::ordered_json{{"models", j}}.dump(2));
    return Status::Ok();
  }
  fmt::print("{:<14} {:<34} {:<10} {:>9}  {}\n", "alias", "name", "arch", "memory", "MIG");
  for (auto* m : models) {
    std::string mig = m->mig
                          ? fmt::format("{} profiles, {} units, {} compute slices",
                                        m->profiles.size(), m->placement_units, m->compute_slices)
                          : "no (whole GPU)";
    fmt::print("{:<14} {:<34} {:<10} {:>5.1f} GiB  {}{}\n", m->alias, m->name,
               mig::ArchName(m->arch), m->memory_mib / 1024.0, mig,
               m->verified() ? "" : "  [partly unverified]");
  }
  return Status::Ok();
}

}  // namespace

void AddCatalog(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("catalog", "GPU models carve knows (aliases, memory, MIG shape)");
  auto model = std::make_shared<std::string>();  // lives as long as the callback
  cmd->add_option("model", *model, "One model: alias, product name or PCI id");
  cmd->callback(Body(g, [&g, model] { return Run(g, *model); }));
}

}  // namespace carve::cli
