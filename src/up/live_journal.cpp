#include "up/live_journal.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "up/state_dir.h"
#include "util/atomic_file.h"
#include "util/format_version.h"
#include "util/read_file.h"

namespace carve::up {

using Json = nlohmann::ordered_json;

Status WriteLiveJournal(const std::string& state_dir, const LiveJournal& j) {
  Json slices = Json::array();
  for (const auto& s : j.slices) slices.push_back(s.str());
  Json out = {{"version", kFormatVersion},
              {"spec", j.spec},
              {"started", j.started},
              {"step", j.step},
              {"slices", slices}};
  // Durable: it must outlive a crash of the machine as well as of carve up.
  return WriteFileAtomically(StatePath(state_dir, kLiveJournalFile), out.dump(2) + "\n",
                             /*durable=*/true);
}

Result<std::optional<LiveJournal>> ReadLiveJournal(const std::string& state_dir) {
  std::string path = StatePath(state_dir, kLiveJournalFile);
  if (!std::filesystem::exists(path)) return std::optional<LiveJournal>();
  CARVE_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxConfigBytes, "live journal"));
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(
        fmt::format("{}: {}", path, why),
        "It lists slices an interrupted change left; remove it once `carve gpus` shows none "
        "you do not want.");
  };
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("slices") || !j["slices"].is_array())
    return bad("not a live journal (a JSON object with a slices list)");
  LiveJournal out;
  out.spec = j.value("spec", "");
  out.started = j.value("started", "");
  out.step = j.value("step", "");
  for (const auto& s : j["slices"]) {
    if (!s.is_string()) return bad("a slice that is not a string");
    CARVE_ASSIGN_OR_RETURN(device::SliceRef ref, device::ParseSliceRef(s.get<std::string>()));
    out.slices.push_back(ref);
  }
  return std::optional<LiveJournal>(std::move(out));
}

void RemoveLiveJournal(const std::string& state_dir) {
  ::unlink(StatePath(state_dir, kLiveJournalFile).c_str());
}

apply::Layouts DropLeftovers(apply::Layouts layouts, const std::vector<device::Gpu>& gpus,
                             const std::vector<device::SliceRef>& leftovers,
                             const std::set<std::string>& keep) {
  auto gone = [&](int gpu, const apply::SliceSpec& s) {
    return s.profile && s.start &&
           std::any_of(leftovers.begin(), leftovers.end(), [&](const device::SliceRef& r) {
             return r.gpu == gpu && r.profile == s.profile->name && r.start == *s.start &&
                    !keep.count(r.str());
           });
  };
  for (const auto& g : gpus) {
    auto l = std::find_if(layouts.begin(), layouts.end(),
                          [&](const apply::GpuLayout& x) { return x.gpu == g.index; });
    if (l == layouts.end()) {  // left alone by the plan: as it is, less the leftovers
      apply::GpuLayout now = apply::LayoutOf(g);
      if (!now.mig || std::none_of(now.slices.begin(), now.slices.end(),
                                   [&](const auto& s) { return gone(g.index, s); }))
        continue;
      now.source = "an interrupted live change (live.journal)";
      layouts.push_back(std::move(now));
      l = layouts.end() - 1;
    }
    std::erase_if(l->slices, [&](const apply::SliceSpec& s) { return gone(g.index, s); });
  }
  std::sort(layouts.begin(), layouts.end(),
            [](const auto& a, const auto& b) { return a.gpu < b.gpu; });
  return layouts;
}

}  // namespace carve::up
