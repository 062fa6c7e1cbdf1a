#include "apply/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "util/atomic_file.h"
#include "util/format_version.h"
#include "util/read_file.h"

namespace carve::apply {
namespace {

using nlohmann::json;
// Before the one spelling (util/format_version.h), journals said this; a
// journal left by an older carve is still read, so its work can finish.
constexpr const char* kOldVersion = "carve-apply-journal/v1";

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

// What makes a journal unusable; thrown while parsing, caught in ReadJournal
// like nlohmann's own exceptions.
struct Corrupt : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `v` as a whole number from lo to hi (lo >= 0). get<int>() would wrap 1e12,
// or truncate 1.5, into a number that looks valid.
int IntIn(const json& v, const char* key, int lo, int hi) {
  bool whole = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
  if (!whole || v.get<uint64_t>() < uint64_t(lo) || v.get<uint64_t>() > uint64_t(hi))
    throw Corrupt(
        fmt::format("'{}' is {}, not a whole number from {} to {}", key, v.dump(), lo, hi));
  return int(v.get<uint64_t>());
}

SliceSpec ParseSlice(const json& s, const mig::GpuModel& model) {
  constexpr int kMaxId = 1 << 20, kMaxStart = 64;
  const mig::Profile* p = model.FindProfileById(IntIn(s.at("profile_id"), "profile_id", 0, kMaxId));
  if (!p)
    throw Corrupt(fmt::format("unknown profile {} on {}", s.at("profile").dump(), model.alias));
  SliceSpec spec{p, IntIn(s.at("start"), "start", 0, kMaxStart), {}};
  for (const auto& id : s.at("cis")) {
    int want = IntIn(id, "cis", 0, kMaxId);
    const auto& cps = model.ComputeProfilesFor(*p);
    auto cp = std::find_if(cps.begin(), cps.end(), [&](const auto& c) { return c.id == want; });
    if (cp == cps.end())
      throw Corrupt(fmt::format("unknown compute profile {} in {}", want, p->name));
    spec.cis.push_back(&*cp);
  }
  return spec;
}

GpuLayout ParseLayout(const json& j) {
  GpuLayout l;
  l.gpu = IntIn(j.at("gpu"), "gpu", 0, std::numeric_limits<int>::max());
  l.mig = j.at("mig").get<bool>();
  l.source = j.at("source").get<std::string>();
  std::string alias = j.at("model").get<std::string>();
  l.model = alias.empty() ? nullptr : mig::Catalog::Builtin().Find(alias);
  if (!alias.empty() && !l.model) throw Corrupt("unknown GPU model " + alias);
  for (const auto& s : j.at("slices")) {
    if (!l.model) throw Corrupt(fmt::format("GPU {} has slices but no model", l.gpu));
    l.slices.push_back(ParseSlice(s, *l.model));
  }
  return l;
}

// Every field, checked: a journal drives changes to GPUs, so anything
// unexpected in it is refused rather than guessed at.
Journal ParseJournal(const json& doc) {
  if (doc.at("version") != kFormatVersion && doc.at("version") != kOldVersion)
    throw Corrupt(fmt::format("unknown journal version {}", doc.at("version").dump()));
  Journal j;
  j.phase = doc.at("phase").get<std::string>();
  if (j.phase != "forward" && j.phase != "rollback")
    throw Corrupt(
        fmt::format("unknown phase '{}' (a journal is 'forward' or 'rollback')", j.phase));
  j.force = doc.at("force").get<bool>();
  j.pid = IntIn(doc.at("pid"), "pid", 0, std::numeric_limits<int>::max());
  j.started = doc.at("started").get<std::string>();
  j.ops = doc.at("ops").get<std::vector<std::string>>();
  j.done = IntIn(doc.at("done"), "done", 0, int(j.ops.size()));
  for (const auto& l : doc.at("before")) j.before.push_back(ParseLayout(l));
  for (const auto& l : doc.at("target")) j.target.push_back(ParseLayout(l));
  return j;
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
  json doc = {
      {"version", kFormatVersion}, {"phase", j.phase}, {"force", j.force}, {"pid", j.pid},
      {"started", j.started},      {"done", j.done},   {"ops", j.ops},     {"before", before},
      {"target", target}};
  return WriteFileAtomically(JournalPath(dir), doc.dump(1) + "\n", /*durable=*/true);
}

Result<std::optional<Journal>> ReadJournal(const std::string& dir) {
  std::string path = JournalPath(dir);
  auto text = ReadFileBounded(path, kMaxConfigBytes, "apply journal");
  if (!text.ok() && text.status().code() == Code::kNotFound) return std::optional<Journal>();
  std::string what = text.ok() ? "" : text.status().message();
  if (text.ok()) {
    try {
      return std::optional<Journal>(ParseJournal(json::parse(*text)));
    } catch (const std::exception& e) {
      what = fmt::format("{} is corrupt: {}", path, e.what());
    }
  }
  return Status::InvalidArgument(
      fmt::format("{}; carve apply refuses to run until it is dealt with, since it cannot tell "
                  "what the interrupted apply left",
                  what),
      fmt::format("Compare what the GPUs hold (carve export) with the journal's 'before' and "
                  "'target' layouts, then move it away (mv {0} {0}.corrupt) and run carve apply "
                  "with the layout you want.",
                  path));
}

Status RemoveJournal(const std::string& dir) {
  std::string path = JournalPath(dir);
  if (!std::filesystem::exists(path)) return Status::Ok();
  if (std::remove(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove", path);
  return SyncPath(dir, O_RDONLY | O_DIRECTORY);
}

std::string PendingNote(const std::string& dir) {
  auto j = ReadJournal(dir);
  if (!j.ok()) return j.status().message() + ".\n       " + j.status().hint();
  if (!*j) return "";
  if ((*j)->pid > 0 && ::kill((*j)->pid, 0) == 0)
    return fmt::format("an apply is in progress (pid {}); this shows the GPUs mid-change",
                       (*j)->pid);
  return fmt::format(
      "an interrupted apply is pending ({}); the next carve apply (of any layout) finishes it "
      "first, or rolls it back where it cannot",
      JournalPath(dir));
}

}  // namespace carve::apply
