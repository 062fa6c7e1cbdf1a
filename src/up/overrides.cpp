#include "up/overrides.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "up/state_dir.h"
#include "util/atomic_file.h"
#include "util/format_version.h"
#include "util/read_file.h"

namespace carve::up {
namespace {

using Json = nlohmann::ordered_json;

const spec::Model* Find(const spec::Spec& s, const std::string& name) {
  for (const auto& m : s.models)
    if (m.name == name) return &m;
  return nullptr;
}

bool Holds(const spec::Model& m, const Override& o) {
  if (o.replicas) return m.replicas && *m.replicas == static_cast<int>(o.spec) && *o.replicas >= 1;
  if (o.throughput) return m.throughput && *m.throughput == o.spec && *o.throughput > 0;
  return false;
}

Json OverrideJson(const Override& o) {
  Json j = Json::object();
  if (o.replicas) j["replicas"] = *o.replicas;
  if (o.throughput) j["throughput"] = *o.throughput;
  if (o.replicas)
    j["spec"] = static_cast<int>(o.spec);
  else
    j["spec"] = o.spec;
  j["by"] = o.by;
  j["at"] = o.at;
  return j;
}

Override OverrideFrom(const Json& j) {
  Override o;
  if (j.contains("replicas")) o.replicas = j["replicas"].get<int>();
  if (j.contains("throughput")) o.throughput = j["throughput"].get<double>();
  o.spec = j.value("spec", 0.0);
  o.by = j.value("by", "");
  o.at = j.value("at", "");
  return o;
}

}  // namespace

Result<Overrides> ReadOverrides(const std::string& state_dir) {
  const std::string path = StatePath(state_dir, kOverridesFile);
  if (!std::filesystem::exists(path)) return Overrides{};
  CARVE_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxConfigBytes, "overrides"));
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("version", "") != kFormatVersion || !j["models"].is_object())
    return Status::InvalidArgument(fmt::format("{}: not a version v1 overrides file", path),
                                   "Remove it: carve up then serves the spec as written.");
  Overrides out;
  try {
    for (const auto& [name, o] : j["models"].items()) out[name] = OverrideFrom(o);
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", path, e.what()),
                                   "Remove it: carve up then serves the spec as written.");
  }
  return out;
}

Status WriteOverrides(const std::string& state_dir, const Overrides& o) {
  Json models = Json::object();
  for (const auto& [name, v] : o) models[name] = OverrideJson(v);
  Json j{{"version", kFormatVersion}, {"models", models}};
  return WriteFileAtomically(StatePath(state_dir, kOverridesFile), j.dump(2) + "\n",
                             /*durable=*/false);
}

void RemoveOverrides(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::remove(StatePath(state_dir, kOverridesFile), ec);
}

Overrides InForce(const spec::Spec& s, const Overrides& o) {
  Overrides out;
  for (const auto& [name, v] : o)
    if (const spec::Model* m = Find(s, name); m && Holds(*m, v)) out[name] = v;
  return out;
}

std::vector<std::string> ApplyOverrides(spec::Spec& s, const Overrides& o) {
  std::vector<std::string> lines;
  for (const auto& [name, v] : InForce(s, o)) {
    for (auto& m : s.models) {
      if (m.name != name) continue;
      if (v.replicas) {
        int n = *v.replicas;
        if (m.autoscale) n = std::clamp(n, m.autoscale->min, m.autoscale->max);
        m.replicas = n;
        lines.push_back(fmt::format("{}: replicas {} (spec {}; {})", name, n, v.spec, v.by));
      } else {
        m.throughput = *v.throughput;
        lines.push_back(
            fmt::format("{}: throughput {:g} (spec {:g}; {})", name, *v.throughput, v.spec, v.by));
      }
    }
  }
  return lines;
}

Status ApplyOverrides(spec::Spec& s, const std::string& state_dir) {
  CARVE_ASSIGN_OR_RETURN(Overrides o, ReadOverrides(state_dir));
  (void)ApplyOverrides(s, o);
  return Status::Ok();
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return when;
}

}  // namespace carve::up
