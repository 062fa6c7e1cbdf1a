#include "device/sim/sim_state.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "util/atomic_file.h"
#include "util/file_lock.h"
#include "util/format_version.h"
#include "util/read_file.h"

namespace carve::device::sim {
namespace {

using nlohmann::ordered_json;

const std::map<std::string, Code, std::less<>>& FaultCodes() {
  static const std::map<std::string, Code, std::less<>> m = {
      {"in_use", Code::kInUse},
      {"insufficient_resources", Code::kInsufficientResources},
      {"not_supported", Code::kNotSupported},
      {"invalid_argument", Code::kInvalidArgument},
      {"not_found", Code::kNotFound},
      {"no_permission", Code::kNoPermission},
      {"reset_required", Code::kResetRequired},
      {"timeout", Code::kTimeout},
      {"unknown", Code::kUnknown}};
  return m;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

Result<std::string> ReadStateFile(const std::string& path) {
  auto text = ReadFileBounded(path, kMaxConfigBytes, "simulated machine");
  if (!text.ok() && text.status().code() == Code::kNotFound)
    return Status::NotFound(fmt::format("no simulated machine at {}", path),
                            fmt::format("Create one: carve sim new {} h100-80gb:2", path));
  return text;
}

ordered_json ProcessJson(const SimProcess& p) {
  ordered_json j = {{"pid", p.pid}, {"name", p.name}, {"memory_mib", p.memory_mib},
                    {"gi", p.gi},   {"ci", p.ci},     {"track", p.track}};
  if (!p.activity.empty()) j["activity"] = p.activity;
  return j;
}

ordered_json GpuJson(const SimGpu& g) {
  ordered_json gis = ordered_json::array();
  for (const auto& gi : g.gis) {
    ordered_json cis = ordered_json::array();
    for (const auto& ci : gi.cis)
      cis.push_back(
          {{"id", ci.id}, {"profile_id", ci.profile_id}, {"start", ci.start}, {"uuid", ci.uuid}});
    ordered_json j = {
        {"id", gi.id}, {"profile_id", gi.profile_id}, {"start", gi.start}, {"cis", cis}};
    if (gi.xid != 0) j["xid"] = gi.xid;  // only a failed instance: older files stay as they were
    if (!gi.fault_files.empty()) j["fault_files"] = gi.fault_files;
    gis.push_back(std::move(j));
  }
  ordered_json procs = ordered_json::array();
  for (const auto& p : g.processes) procs.push_back(ProcessJson(p));
  return {{"model", g.model},
          {"pci_device_id", fmt::format("0x{:08X}", g.pci_device_id)},
          {"uuid", g.uuid},
          {"serial", g.serial},
          {"pci_bus_id", g.pci_bus_id},
          {"persistence_mode", g.persistence_mode},
          {"display_mode", g.display_mode},
          {"ecc", {{"current", g.ecc.current}, {"pending", g.ecc.pending}}},
          {"mig_timeslicing",
           g.mig_timeslicing ? ordered_json(*g.mig_timeslicing) : ordered_json(nullptr)},
          {"mig", {{"current", g.mig.current}, {"pending", g.mig.pending}}},
          {"resets", g.resets},
          {"gpu_instances", gis},
          {"processes", procs}};
}

}  // namespace

std::string SimState::NewUuid(std::string_view prefix) {
  uint64_t a = SplitMix(seed ^ SplitMix(next_uuid));
  uint64_t b = SplitMix(a ^ next_uuid);
  ++next_uuid;
  return fmt::format("{}{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", prefix, a >> 32, (a >> 16) & 0xFFFF,
                     a & 0xFFFF, b >> 48, b & 0xFFFFFFFFFFFFull);
}

std::string FormatState(const SimState& s) {
  ordered_json gpus = ordered_json::array();
  for (const auto& g : s.gpus) gpus.push_back(GpuJson(g));
  std::string fault_name = FaultCodeName(s.faults.error);
  ordered_json j = {{"version", kFormatVersion},
                    {"seed", s.seed},
                    {"next_uuid", s.next_uuid},
                    {"boots", s.boots},
                    {"driver_version", s.driver_version},
                    {"faults",
                     {{"fail_after", s.faults.fail_after},
                      {"error", fault_name},
                      {"delay_ms", s.faults.delay_ms}}},
                    {"gpus", gpus}};
  // A name given on the command line may not be UTF-8; replacing its bad bytes
  // beats the exception dump() would throw (and a host program's abort).
  return j.dump(1, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

// A whole number within T's range, or an exception the parser turns into a
// refusal: nlohmann's get<int>() of 1e49 is undefined, of 2^32 it wraps.
template <typename T>
T Whole(const ordered_json& parent, const char* key) {
  const ordered_json& v = parent.at(key);
  if (v.is_number_unsigned() && std::in_range<T>(v.get<uint64_t>()))
    return static_cast<T>(v.get<uint64_t>());
  if (!v.is_number_unsigned() && v.is_number_integer() && std::in_range<T>(v.get<int64_t>()))
    return static_cast<T>(v.get<int64_t>());
  throw std::out_of_range(fmt::format("'{}' must be a whole number from {} to {}", key,
                                      std::numeric_limits<T>::min(),
                                      std::numeric_limits<T>::max()));
}

namespace {

// What later versions added to a GPU; a state file without them keeps the
// defaults (the model's first product, ECC on, no display mode).
void ParseSettings(const ordered_json& gj, SimGpu& g) {
  if (const mig::GpuModel* m = mig::Catalog::Builtin().Find(g.model))
    g.pci_device_id = m->products.front().pci_device_id;
  if (gj.contains("pci_device_id")) {
    std::string id = gj.at("pci_device_id").get<std::string>();
    size_t used = 0;
    g.pci_device_id = static_cast<uint32_t>(std::stoul(id, &used, 16));
    if (used != id.size() || id.size() != 10)
      throw std::invalid_argument("pci_device_id '" + id + "' is not 0xDDDDVVVV");
  }
  if (gj.contains("display_mode")) g.display_mode = gj.at("display_mode").get<bool>();
  if (gj.contains("ecc"))
    g.ecc = {gj.at("ecc").at("current").get<bool>(), gj.at("ecc").at("pending").get<bool>()};
  if (gj.contains("mig_timeslicing") && !gj.at("mig_timeslicing").is_null())
    g.mig_timeslicing = gj.at("mig_timeslicing").get<bool>();
}

}  // namespace

Result<SimState> ParseState(std::string_view text, std::string_view where) {
  auto bad = [&](std::string what) {
    return Status::InvalidArgument(fmt::format("{}: {}", where, what),
                                   "The file is not a carve simulator state; create one with "
                                   "`carve sim new FILE GPU[:COUNT]`.");
  };
  ordered_json j = ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object()) return bad(fmt::format("a JSON {}, expected an object", j.type_name()));
  // "version": "v1"; states written before the one spelling
  // (util/format_version.h) said "schema": "carve-sim/v1".
  auto version = j.find("version");
  auto schema = j.find("schema");
  if (version != j.end() ? *version != kFormatVersion
                         : schema == j.end() || *schema != "carve-sim/v1")
    return bad(fmt::format("version {}, expected \"{}\"",
                           version != j.end()  ? version->dump()
                           : schema != j.end() ? schema->dump()
                                               : "missing",
                           kFormatVersion));
  SimState s;
  try {
    s.seed = Whole<uint64_t>(j, "seed");
    s.next_uuid = Whole<uint64_t>(j, "next_uuid");
    s.boots = Whole<int>(j, "boots");
    s.driver_version = j.at("driver_version").get<std::string>();
    const auto& f = j.at("faults");
    s.faults.fail_after = Whole<int>(f, "fail_after");
    s.faults.delay_ms = Whole<int>(f, "delay_ms");
    auto code = ParseFaultCode(f.at("error").get<std::string>());
    if (!code.ok()) return bad(code.status().message());
    s.faults.error = *code;
    for (const auto& gj : j.at("gpus")) {
      SimGpu g;
      g.model = gj.at("model").get<std::string>();
      g.uuid = gj.at("uuid").get<std::string>();
      g.serial = gj.at("serial").get<std::string>();
      g.pci_bus_id = gj.at("pci_bus_id").get<std::string>();
      g.persistence_mode = gj.at("persistence_mode").get<bool>();
      ParseSettings(gj, g);
      g.mig.current = gj.at("mig").at("current").get<bool>();
      g.mig.pending = gj.at("mig").at("pending").get<bool>();
      g.resets = Whole<int>(gj, "resets");
      for (const auto& gij : gj.at("gpu_instances")) {
        SimGpuInstance gi{Whole<int>(gij, "id"),
                          Whole<int>(gij, "profile_id"),
                          Whole<int>(gij, "start"),
                          {},
                          0,
                          {}};
        for (const auto& cij : gij.at("cis"))
          gi.cis.push_back({Whole<int>(cij, "id"), Whole<int>(cij, "profile_id"),
                            Whole<int>(cij, "start"), cij.at("uuid").get<std::string>()});
        if (gij.contains("xid")) gi.xid = Whole<int>(gij, "xid");  // absent: healthy
        if (gij.contains("fault_files"))
          gi.fault_files = gij.at("fault_files").get<std::vector<std::string>>();
        g.gis.push_back(std::move(gi));
      }
      for (const auto& pj : gj.at("processes"))
        g.processes.push_back({Whole<uint32_t>(pj, "pid"), pj.at("name").get<std::string>(),
                               Whole<uint64_t>(pj, "memory_mib"), Whole<int>(pj, "gi"),
                               Whole<int>(pj, "ci"), pj.at("track").get<bool>(),
                               pj.value("activity", std::string())});
      s.gpus.push_back(std::move(g));
    }
  } catch (const std::exception& e) {  // nlohmann's, and Whole's
    return bad(e.what());
  }
  if (Status st = CheckState(s); !st.ok()) return bad(st.message());
  return s;
}

Result<Code> ParseFaultCode(std::string_view name) {
  auto it = FaultCodes().find(name);
  if (it == FaultCodes().end())
    return Status::InvalidArgument(fmt::format("unknown fault code '{}'", name),
                                   fmt::format("Use one of: {}.", FaultCodeNames()));
  return it->second;
}

std::string FaultCodeName(Code code) {
  for (const auto& [name, c] : FaultCodes())
    if (c == code) return name;
  return "unknown";
}

std::string FaultCodeNames() {
  std::string out;
  for (const auto& [name, code] : FaultCodes()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

Status WithStateFile(const std::string& path,
                     const std::function<Status(SimState& state, bool* write)>& fn) {
  CARVE_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path + ".lock", /*wait=*/true));
  CARVE_ASSIGN_OR_RETURN(std::string text, ReadStateFile(path));
  CARVE_ASSIGN_OR_RETURN(SimState state, ParseState(text, path));
  bool write = false;
  Status st = fn(state, &write);
  if (write) CARVE_RETURN_IF_ERROR(WriteFileAtomically(path, FormatState(state), /*durable=*/true));
  return st;
}

Status CreateStateFile(const std::string& path, const SimState& state, bool overwrite) {
  CARVE_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path + ".lock", /*wait=*/true));
  if (!overwrite && ::access(path.c_str(), F_OK) == 0)
    return Status::Error(Code::kAlreadyExists, fmt::format("{} already exists", path),
                         "Pass --force to replace it, or choose another file.");
  return WriteFileAtomically(path, FormatState(state), /*durable=*/true);
}

}  // namespace carve::device::sim
