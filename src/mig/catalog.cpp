#include "mig/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "util/format_version.h"

namespace carve::mig {

const std::vector<std::pair<std::string_view, std::string_view>>& EmbeddedCatalogFiles();

namespace {

using nlohmann::json;

// NVML_GPU_INSTANCE_PROFILE_* and NVML_COMPUTE_INSTANCE_PROFILE_* (device/nvml/nvml_api.h).
const std::map<std::string, int>& GiConstants() {
  static const std::map<std::string, int> m = {
      {"1_SLICE", 0x0},        {"2_SLICE", 0x1},         {"3_SLICE", 0x2},
      {"4_SLICE", 0x3},        {"7_SLICE", 0x4},         {"8_SLICE", 0x5},
      {"6_SLICE", 0x6},        {"1_SLICE_REV1", 0x7},    {"2_SLICE_REV1", 0x8},
      {"1_SLICE_REV2", 0x9},   {"1_SLICE_GFX", 0xA},     {"2_SLICE_GFX", 0xB},
      {"4_SLICE_GFX", 0xC},    {"1_SLICE_NO_ME", 0xD},   {"2_SLICE_NO_ME", 0xE},
      {"1_SLICE_ALL_ME", 0xF}, {"2_SLICE_ALL_ME", 0x10}, {"3_SLICE_GFX", 0x11}};
  return m;
}
const std::map<std::string, int>& CiConstants() {
  static const std::map<std::string, int> m = {
      {"1_SLICE", 0}, {"2_SLICE", 1}, {"3_SLICE", 2},      {"4_SLICE", 3},    {"7_SLICE", 4},
      {"8_SLICE", 5}, {"6_SLICE", 6}, {"1_SLICE_REV1", 7}, {"7_SLICE_NVL", 8}};
  return m;
}

// Reads one JSON object, refusing keys it does not know so that a typo in the
// data is a test failure, not a silently missing fact.
class Reader {
 public:
  Reader(const json& j, std::string where) : j_(j), where_(std::move(where)) {}

  Status Check(std::initializer_list<std::string_view> allowed) const {
    if (!j_.is_object()) return Err("is not an object");
    for (auto& [k, v] : j_.items()) {
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        return Err(fmt::format("has unknown key '{}'", k));
    }
    return Status::Ok();
  }
  template <typename T>
  Status Get(std::string_view key, T* out, bool required = true) const {
    auto it = j_.find(key);
    if (it == j_.end()) return required ? Err(fmt::format("lacks '{}'", key)) : Status::Ok();
    try {
      *out = it->template get<T>();
    } catch (const json::exception& e) {
      return Err(fmt::format("'{}' has the wrong type ({})", key, e.what()));
    }
    return Status::Ok();
  }
  const json* Child(std::string_view key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  Status Err(const std::string& what) const {
    return Status::InvalidArgument(fmt::format("catalog: {} {}", where_, what));
  }
  const std::string& where() const { return where_; }

 private:
  const json& j_;
  std::string where_;
};

Status ReadEngines(const Reader& parent, const json* j, Engines* e) {
  if (!j) return parent.Err("lacks 'engines'");
  Reader r(*j, parent.where() + " engines");
  CARVE_RETURN_IF_ERROR(r.Check({"ce", "dec", "enc", "jpeg", "ofa"}));
  CARVE_RETURN_IF_ERROR(r.Get("ce", &e->ce));
  CARVE_RETURN_IF_ERROR(r.Get("dec", &e->dec));
  CARVE_RETURN_IF_ERROR(r.Get("enc", &e->enc));
  CARVE_RETURN_IF_ERROR(r.Get("jpeg", &e->jpeg));
  return r.Get("ofa", &e->ofa);
}

Status ReadPlacements(const Reader& r, const json* j, int units, std::vector<Placement>* out) {
  if (!j || !j->is_array() || j->empty()) return r.Err("needs a non-empty 'placements' list");
  for (const auto& p : *j) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number_integer())
      return r.Err("has a placement that is not [start, size]");
    Placement pl{p[0].get<int>(), p[1].get<int>()};
    if (pl.start < 0 || pl.size <= 0 || pl.end() > units)
      return r.Err(fmt::format("has placement [{},{}] outside {} units", pl.start, pl.size, units));
    if (!out->empty() && (pl.size != out->front().size || pl.start <= out->back().start))
      return r.Err("placements must share one size and ascend by start");
    out->push_back(pl);
  }
  return Status::Ok();
}

Status ReadProfile(const json& j, const GpuModel& gpu, Profile* p) {
  std::string name = j.is_object() && j.contains("name") && j["name"].is_string()
                         ? j["name"].get<std::string>()
                         : "?";
  Reader r(j, fmt::format("{} profile {}", gpu.alias, name));
  CARVE_RETURN_IF_ERROR(r.Check({"name", "nvml_profile", "id", "memory_mib", "sm", "engines",
                                 "max_instances", "placements", "source", "unverified", "notes"}));
  p->name = name;
  CARVE_RETURN_IF_ERROR(r.Get("nvml_profile", &p->nvml_profile_name));
  auto it = GiConstants().find(p->nvml_profile_name);
  if (it == GiConstants().end())
    return r.Err(fmt::format("has unknown nvml_profile '{}'", p->nvml_profile_name));
  p->nvml_profile = it->second;
  CARVE_RETURN_IF_ERROR(r.Get("id", &p->id));
  CARVE_RETURN_IF_ERROR(r.Get("memory_mib", &p->memory_mib));
  CARVE_RETURN_IF_ERROR(r.Get("sm", &p->sm));
  CARVE_RETURN_IF_ERROR(ReadEngines(r, r.Child("engines"), &p->engines));
  CARVE_RETURN_IF_ERROR(r.Get("max_instances", &p->max_instances));
  CARVE_RETURN_IF_ERROR(
      ReadPlacements(r, r.Child("placements"), gpu.placement_units, &p->placements));
  CARVE_RETURN_IF_ERROR(r.Get("source", &p->source));
  CARVE_RETURN_IF_ERROR(r.Get("unverified", &p->unverified, false));
  CARVE_RETURN_IF_ERROR(r.Get("notes", &p->notes, false));
  int g = 0;
  if (std::sscanf(p->name.c_str(), "%dg.", &g) != 1 || g <= 0)
    return r.Err("name must look like <N>g.<M>gb[suffix]");
  p->slices = g;
  if (p->max_instances <= 0) return r.Err("needs max_instances > 0");
  return Status::Ok();
}

Status ReadComputeProfiles(const Reader& parent, const json* j, GpuModel* gpu) {
  if (!j) return gpu->mig ? parent.Err("lacks 'compute_profiles'") : Status::Ok();
  if (!j->is_object()) return parent.Err("'compute_profiles' must map GI slices to a list");
  for (auto& [key, list] : j->items()) {
    int gi_slices = std::atoi(key.c_str());
    if (gi_slices <= 0 || !list.is_array())
      return parent.Err(fmt::format("compute_profiles key '{}' is not a slice count", key));
    auto& out = gpu->compute_profiles[gi_slices];
    int defaults = 0;
    for (const auto& cj : list) {
      ComputeProfile c;
      Reader r(cj, fmt::format("{} compute profile in {}g", gpu->alias, key));
      CARVE_RETURN_IF_ERROR(r.Check(
          {"slices", "nvml_profile", "id", "max_instances", "sm", "placements", "default"}));
      CARVE_RETURN_IF_ERROR(r.Get("slices", &c.slices));
      CARVE_RETURN_IF_ERROR(r.Get("nvml_profile", &c.nvml_profile_name));
      auto it = CiConstants().find(c.nvml_profile_name);
      if (it == CiConstants().end())
        return r.Err(fmt::format("has unknown nvml_profile '{}'", c.nvml_profile_name));
      c.nvml_profile = it->second;
      CARVE_RETURN_IF_ERROR(r.Get("id", &c.id));
      CARVE_RETURN_IF_ERROR(r.Get("max_instances", &c.max_instances));
      CARVE_RETURN_IF_ERROR(r.Get("sm", &c.sm));
      CARVE_RETURN_IF_ERROR(
          ReadPlacements(r, r.Child("placements"), gpu->placement_units, &c.placements));
      CARVE_RETURN_IF_ERROR(r.Get("default", &c.is_default, false));
      defaults += c.is_default;
      out.push_back(std::move(c));
    }
    if (defaults != 1)
      return parent.Err(fmt::format("compute_profiles for {}g need exactly one default", key));
  }
  return Status::Ok();
}

Result<uint32_t> ParsePciId(const Reader& r, const std::string& s) {
  char* end = nullptr;
  unsigned long v = std::strtoul(s.c_str(), &end, 16);
  if (s.rfind("0x", 0) != 0 || *end != '\0' || s.size() != 10)
    return r.Err(fmt::format("has pci_device_id '{}', expected 0xDDDDVVVV", s));
  return static_cast<uint32_t>(v);
}

Status ReadGpu(const json& j, std::string_view file, GpuModel* gpu) {
  std::string alias = j.is_object() && j.contains("alias") && j["alias"].is_string()
                          ? j["alias"].get<std::string>()
                          : "?";
  Reader r(j, fmt::format("{}: gpu {}", file, alias));
  CARVE_RETURN_IF_ERROR(
      r.Check({"alias", "name", "architecture", "mig", "products", "memory_mib", "sm_count",
               "placement_units", "compute_slices", "engines", "min_driver", "source", "unverified",
               "notes", "profiles", "compute_profiles", "compute_profiles_verified"}));
  gpu->alias = alias;
  gpu->family_file = std::string(file);
  CARVE_RETURN_IF_ERROR(r.Get("name", &gpu->name));
  std::string arch;
  CARVE_RETURN_IF_ERROR(r.Get("architecture", &arch));
  static const std::map<std::string, Arch> kArch = {{"ampere", Arch::kAmpere},
                                                    {"hopper", Arch::kHopper},
                                                    {"blackwell", Arch::kBlackwell},
                                                    {"ada", Arch::kAda}};
  if (!kArch.count(arch)) return r.Err(fmt::format("has unknown architecture '{}'", arch));
  gpu->arch = kArch.at(arch);
  CARVE_RETURN_IF_ERROR(r.Get("mig", &gpu->mig));
  const json* products = r.Child("products");
  if (!products || !products->is_array() || products->empty())
    return r.Err("needs a non-empty 'products' list");
  for (const auto& pj : *products) {
    Reader pr(pj, r.where() + " product");
    CARVE_RETURN_IF_ERROR(pr.Check({"name", "pci_device_id", "display_mode"}));
    Product p;
    std::string id;
    CARVE_RETURN_IF_ERROR(pr.Get("name", &p.name));
    CARVE_RETURN_IF_ERROR(pr.Get("display_mode", &p.display_mode, false));
    CARVE_RETURN_IF_ERROR(pr.Get("pci_device_id", &id));
    CARVE_ASSIGN_OR_RETURN(p.pci_device_id, ParsePciId(pr, id));
    gpu->products.push_back(std::move(p));
  }
  CARVE_RETURN_IF_ERROR(r.Get("memory_mib", &gpu->memory_mib));
  CARVE_RETURN_IF_ERROR(r.Get("sm_count", &gpu->sm_count));
  CARVE_RETURN_IF_ERROR(r.Get("min_driver", &gpu->min_driver, false));
  CARVE_RETURN_IF_ERROR(r.Get("source", &gpu->source));
  CARVE_RETURN_IF_ERROR(r.Get("unverified", &gpu->unverified, false));
  CARVE_RETURN_IF_ERROR(r.Get("notes", &gpu->notes, false));
  if (!gpu->mig) return Status::Ok();

  CARVE_RETURN_IF_ERROR(r.Get("placement_units", &gpu->placement_units));
  CARVE_RETURN_IF_ERROR(r.Get("compute_slices", &gpu->compute_slices));
  CARVE_RETURN_IF_ERROR(ReadEngines(r, r.Child("engines"), &gpu->engines));
  CARVE_RETURN_IF_ERROR(r.Get("compute_profiles_verified", &gpu->compute_profiles_verified, false));
  const json* profiles = r.Child("profiles");
  if (!profiles || !profiles->is_array() || profiles->empty())
    return r.Err("is MIG-capable but has no 'profiles'");
  std::set<std::string> names;
  std::set<int> ids, consts;
  for (const auto& pj : *profiles) {
    Profile p;
    CARVE_RETURN_IF_ERROR(ReadProfile(pj, *gpu, &p));
    if (!names.insert(p.name).second || !ids.insert(p.id).second ||
        !consts.insert(p.nvml_profile).second)
      return r.Err(fmt::format("repeats the name, id or nvml_profile of {}", p.name));
    gpu->profiles.push_back(std::move(p));
  }
  CARVE_RETURN_IF_ERROR(ReadComputeProfiles(r, r.Child("compute_profiles"), gpu));
  for (const auto& p : gpu->profiles) {
    if (!gpu->compute_profiles.count(p.slices))
      return r.Err(fmt::format("has no compute_profiles for {} ({}g)", p.name, p.slices));
  }
  return Status::Ok();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string_view ArchName(Arch arch) {
  switch (arch) {
    case Arch::kAmpere:
      return "Ampere";
    case Arch::kHopper:
      return "Hopper";
    case Arch::kBlackwell:
      return "Blackwell";
    case Arch::kAda:
      return "Ada";
    case Arch::kUnknown:
      return "unknown";
  }
  return "unknown";
}

bool Profile::LegalStart(int start) const {
  return std::any_of(placements.begin(), placements.end(),
                     [&](const Placement& p) { return p.start == start; });
}

std::string ComputeProfile::NameIn(const Profile& gi) const {
  if (slices == gi.slices) return gi.name;
  return fmt::format("{}c.{}", slices, gi.name);
}

const Profile* GpuModel::FindProfile(std::string_view name) const {
  for (const auto& p : profiles)
    if (p.name == name) return &p;
  return nullptr;
}
const Profile* GpuModel::FindProfileById(int id) const {
  for (const auto& p : profiles)
    if (p.id == id) return &p;
  return nullptr;
}
const Profile* GpuModel::FindProfileByNvml(int nvml_profile) const {
  for (const auto& p : profiles)
    if (p.nvml_profile == nvml_profile) return &p;
  return nullptr;
}
const std::vector<ComputeProfile>& GpuModel::ComputeProfilesFor(const Profile& gi) const {
  static const std::vector<ComputeProfile> kNone;
  auto it = compute_profiles.find(gi.slices);
  return it == compute_profiles.end() ? kNone : it->second;
}
const ComputeProfile* GpuModel::DefaultComputeProfile(const Profile& gi) const {
  for (const auto& c : ComputeProfilesFor(gi))
    if (c.is_default) return &c;
  return nullptr;
}

Result<Catalog> Catalog::Parse(
    const std::vector<std::pair<std::string_view, std::string_view>>& files) {
  Catalog cat;
  std::set<std::string> aliases;
  for (const auto& [file, text] : files) {
    json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded())
      return Status::InvalidArgument(fmt::format("catalog: {} is not valid JSON", file));
    Reader r(doc, std::string(file));
    CARVE_RETURN_IF_ERROR(r.Check({"version", "schema", "family", "sources", "notes", "gpus"}));
    // "version": "v1" (util/format_version.h); files written before the one
    // spelling said "schema": "carve-catalog/v1".
    std::string version, schema;
    if (r.Child("version")) CARVE_RETURN_IF_ERROR(r.Get("version", &version));
    if (r.Child("schema")) CARVE_RETURN_IF_ERROR(r.Get("schema", &schema));
    if (version.empty() && schema == "carve-catalog/v1") version = kFormatVersion;
    if (version.empty() && schema.empty())
      return r.Err(fmt::format("lacks \"version\": \"{}\"", kFormatVersion));
    if (version != kFormatVersion)
      return r.Err(fmt::format("has version '{}'; this carve reads \"version\": \"{}\"",
                               version.empty() ? schema : version, kFormatVersion));
    const json* gpus = r.Child("gpus");
    if (!gpus || !gpus->is_array()) return r.Err("lacks a 'gpus' list");
    for (const auto& gj : *gpus) {
      GpuModel gpu;
      CARVE_RETURN_IF_ERROR(ReadGpu(gj, file, &gpu));
      if (!aliases.insert(gpu.alias).second)
        return r.Err(fmt::format("repeats alias '{}'", gpu.alias));
      cat.models_.push_back(std::move(gpu));
    }
  }
  return cat;
}

const Catalog& Catalog::Builtin() {
  static const Catalog* cat = [] {
    auto r = Parse(EmbeddedCatalogFiles());
    if (!r.ok()) {
      std::fprintf(stderr, "carve: built-in %s\n", r.status().message().c_str());
      std::abort();
    }
    return new Catalog(std::move(r).value());
  }();
  return *cat;
}

const GpuModel* Catalog::Find(std::string_view key) const {
  for (const auto& m : models_)
    if (m.alias == Lower(key)) return &m;
  const Product* p = FindProduct(key);
  return p ? FindByPciId(p->pci_device_id) : nullptr;
}

const Product* Catalog::FindProduct(std::string_view key) const {
  std::string k = Lower(key);
  auto strip = [](const std::string& s) { return s.rfind("nvidia ", 0) == 0 ? s.substr(7) : s; };
  for (const auto& m : models_)
    for (const auto& p : m.products) {
      if (strip(Lower(p.name)) == strip(k)) return &p;
      if (k == Lower(fmt::format("0x{:08X}", p.pci_device_id))) return &p;
    }
  return nullptr;
}

const GpuModel* Catalog::FindByPciId(uint32_t pci_device_id) const {
  for (const auto& m : models_)
    for (const auto& p : m.products)
      if (p.pci_device_id == pci_device_id) return &m;
  return nullptr;
}

Result<const GpuModel*> Catalog::Lookup(std::string_view key) const {
  if (const GpuModel* m = Find(key)) return m;
  return Status::NotFound(fmt::format("unknown GPU model '{}'", key),
                          fmt::format("Known models: {}.", AliasList()));
}

std::string Catalog::AliasList() const {
  std::string out;
  for (const auto& m : models_) out += (out.empty() ? "" : " ") + m.alias;
  return out;
}

}  // namespace carve::mig
