#include "apply/applied.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/atomic_file.h"
#include "util/format_version.h"
#include "util/read_file.h"

namespace carve::apply {
namespace {

using nlohmann::json;
// Before the one spelling (util/format_version.h), records said this.
constexpr const char* kOldVersion = "carve-applied/v1";

std::string PathIn(const std::string& dir) { return dir + "/applied.json"; }

Result<json> Load(const std::string& dir) {
  auto text = ReadFileBounded(PathIn(dir), kMaxConfigBytes, "apply record");
  if (!text.ok() && text.status().code() == Code::kNotFound) return json(nullptr);
  if (!text.ok()) return text.status();
  json j = json::parse(*text, nullptr, false);
  const bool known = j.is_object() && j.contains("version") && j["version"].is_string() &&
                     (j["version"] == kFormatVersion || j["version"] == kOldVersion);
  if (!known)
    return Status::InvalidArgument(fmt::format("{} is not a carve apply record", PathIn(dir)),
                                   "Remove it; the next carve apply writes it again.");
  return j;
}

Status Save(const std::string& dir, json j) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Io(fmt::format("cannot create state directory {}: {}", dir, ec.message()));
  j["version"] = kFormatVersion;
  return WriteFileAtomically(PathIn(dir), j.dump(1) + "\n", /*durable=*/false);
}

}  // namespace

Status RecordApplied(const std::string& state_dir, const std::string& layout,
                     const std::vector<device::Gpu>& gpus) {
  auto old = Load(state_dir);
  json j = {{"layout", layout}, {"gpus", json::array()}, {"boot_unit", nullptr}};
  if (old.ok() && old->is_object() && old->contains("boot_unit"))
    j["boot_unit"] = (*old)["boot_unit"];
  for (const auto& g : gpus)
    if (g.mig.current) j["gpus"].push_back({{"uuid", g.uuid}, {"slices", g.gpu_instances.size()}});
  return Save(state_dir, std::move(j));
}

Status RecordBootUnit(const std::string& state_dir, const std::string& layout,
                      const std::string& unit_path) {
  auto old = Load(state_dir);
  json j = old.ok() && old->is_object() ? *old : json{{"gpus", json::array()}};
  j["layout"] = layout;
  j["boot_unit"] = unit_path.empty() ? json(nullptr) : json(unit_path);
  return Save(state_dir, std::move(j));
}

Result<std::optional<device::AppliedLayout>> ReadApplied(const std::string& state_dir) {
  CARVE_ASSIGN_OR_RETURN(json j, Load(state_dir));
  if (j.is_null()) return std::optional<device::AppliedLayout>();
  device::AppliedLayout a;
  try {
    a.layout = j.at("layout").get<std::string>();
    for (const auto& g : j.at("gpus"))
      a.gpus.push_back({g.at("uuid").get<std::string>(), g.at("slices").get<int>()});
    const json& unit = j.at("boot_unit");
    a.boot_unit = unit.is_string() && std::filesystem::exists(unit.get<std::string>());
  } catch (const std::exception& e) {
    return Status::InvalidArgument(fmt::format("{} is corrupt: {}", PathIn(state_dir), e.what()),
                                   "Remove it; the next carve apply writes it again.");
  }
  return std::optional<device::AppliedLayout>(std::move(a));
}

}  // namespace carve::apply
