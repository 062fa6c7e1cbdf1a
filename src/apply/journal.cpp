#include "apply/journal.h"

#include "util/atomic_file.h"
#include "util/read_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace carve::apply {
namespace {

using nlohmann::json;
constexpr const char* kVersion = "carve-apply-journal/v1";

json LayoutJson(const GpuLayout& l) {
  json slices = json::array();
  for (const auto& s : l.slices) {
    json cis = json::array();
    for (const auto* c : s.cis) cis.push_back(c->id);
    slices.push_back({{"profile", s.profile->name},
                      {"profile_id", s.profile->id},
                      {"start", *s.start},
                      {"cis", cis}});
  }
  return {{"gpu", l.gpu},
          {"model", l.model ? l.model->alias : ""},
          {"mig", l.mig},
          {"source", l.source},
          {"slices", slices}};
}

Result<GpuLayout> ParseLayout(const json& j) {
  GpuLayout l;
  l.gpu = j.at("gpu").get<int>();
  l.mig = j.at("mig").get<bool>();
  l.source = j.at("source").get<std::string>();
  std::string alias = j.at("model").get<std::string>();
  l.model = alias.empty() ? nullptr : mig::Catalog::Builtin().Find(alias);
  if (!alias.empty() && !l.model) return Status::InvalidArgument("unknown GPU model " + alias);
  for (const auto& s : j.at("slices")) {
    const mig::Profile* p =
        l.model ? l.model->FindProfileById(s.at("profile_id").get<int>()) : nullptr;
    if (!p) return Status::InvalidArgument("unknown profile " + s.at("profile").dump());
    SliceSpec spec{p, s.at("start").get<int>(), {}};
    for (const auto& id : s.at("cis"))
      for (const auto& cp : l.model->ComputeProfilesFor(*p))
        if (cp.id == id.get<int>()) spec.cis.push_back(&cp);
    l.slices.push_back(spec);
  }
  return l;
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::Io(fmt::format("{} {}: {}", what, path, std::strerror(errno)),
                    "Check that the state directory is writable (--state-dir).");
}

Status SyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return Errno("cannot open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status::Ok() : Errno("cannot fsync", path);
}

}  // namespace

std::string JournalPath(const std::string& dir) { return dir + "/apply-journal.json"; }

Status WriteJournal(const std::string& dir, const Journal& j) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Status::Io(fmt::format("cannot create state directory {}: {}", dir, ec.message()),
                      "Pass a writable one with --state-dir DIR.");
  json before = json::array(), target = json::array();
  for (const auto& l : j.before) before.push_back(LayoutJson(l));
  for (const auto& l : j.target) target.push_back(LayoutJson(l));
  json doc = {{"version", kVersion}, {"phase", j.phase},     {"force", j.force},
              {"pid", j.pid},        {"started", j.started}, {"done", j.done},
              {"ops", j.ops},        {"before", before},     {"target", target}};
  return WriteFileAtomically(JournalPath(dir), doc.dump(1) + "\n", /*durable=*/true);
}

Result<std::optional<Journal>> ReadJournal(const std::string& dir) {
  std::string path = JournalPath(dir);
  auto text = ReadFileBounded(path, kMaxConfigBytes, "apply journal");
  if (!text.ok() && text.status().code() == Code::kNotFound) return std::optional<Journal>();
  if (!text.ok()) return text.status();
  Journal j;
  try {
    json doc = json::parse(*text);
    if (doc.at("version") != kVersion)
      return Status::InvalidArgument(
          fmt::format("{}: unknown journal version {}", path, doc.at("version").dump()));
    j.phase = doc.at("phase").get<std::string>();
    j.force = doc.at("force").get<bool>();
    j.pid = doc.at("pid").get<int>();
    j.started = doc.at("started").get<std::string>();
    j.done = doc.at("done").get<int>();
    j.ops = doc.at("ops").get<std::vector<std::string>>();
    for (const auto& l : doc.at("before")) {
      CARVE_ASSIGN_OR_RETURN(GpuLayout g, ParseLayout(l));
      j.before.push_back(g);
    }
    for (const auto& l : doc.at("target")) {
      CARVE_ASSIGN_OR_RETURN(GpuLayout g, ParseLayout(l));
      j.target.push_back(g);
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(fmt::format("{}: not a carve apply journal: {}", path, e.what()),
                                   "Look at it; if it is stale, move it away and rerun.");
  }
  return std::optional<Journal>(std::move(j));
}

Status RemoveJournal(const std::string& dir) {
  std::string path = JournalPath(dir);
  if (!std::filesystem::exists(path)) return Status::Ok();
  if (std::remove(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove", path);
  return SyncPath(dir, O_RDONLY | O_DIRECTORY);
}

std::string PendingNote(const std::string& dir) {
  auto j = ReadJournal(dir);
  if (!j.ok()) return j.status().message();
  if (!*j) return "";
  if ((*j)->pid > 0 && ::kill((*j)->pid, 0) == 0)
    return fmt::format("an apply is in progress (pid {}); this shows the GPUs mid-change",
                       (*j)->pid);
  return fmt::format("an interrupted apply is pending ({}); the next carve apply finishes it first",
                     JournalPath(dir));
}

}  // namespace carve::apply
