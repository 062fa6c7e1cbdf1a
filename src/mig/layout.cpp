#include "mig/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace carve::mig {
namespace {

uint64_t MaskOf(const Placement& p) { return ((uint64_t{1} << p.size) - 1) << p.start; }

std::string Join(const std::vector<std::string>& parts, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : parts) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

std::string StartList(const Profile& p) {
  std::vector<std::string> s;
  for (const auto& pl : p.placements) s.push_back(std::to_string(pl.start));
  return Join(s);
}

std::string UnitRange(uint64_t mask) {
  std::vector<std::string> units;
  for (int u = 0; u < 64; ++u)
    if (mask >> u & 1) units.push_back(std::to_string(u));
  return (units.size() == 1 ? "unit " : "units ") + Join(units);
}

std::string Holder(const Slice& s) {
  return s.gi >= 0 ? fmt::format("{} (GI {})", s.Name(), s.gi) : s.Name();
}

struct EngineKind {
  const char* name;
  int Engines::*field;
};
constexpr EngineKind kEngineKinds[] = {{"copy engine", &Engines::ce},
                                       {"decoder (NVDEC)", &Engines::dec},
                                       {"encoder (NVENC)", &Engines::enc},
                                       {"JPEG engine", &Engines::jpeg},
                                       {"optical-flow accelerator (OFA)", &Engines::ofa}};

// The first engine kind `add` needs more of than `existing` leaves; null when none.
const EngineKind* ShortEngine(const GpuModel& gpu, std::span<const Slice> existing,
                              const Slice& add) {
  for (const auto& kind : kEngineKinds) {
    int need = add.profile->engines.*kind.field, used = 0;
    for (const auto& s : existing) used += s.profile->engines.*kind.field;
    if (need > 0 && used + need > gpu.engines.*kind.field) return &kind;
  }
  return nullptr;
}

Status CheckEngines(const GpuModel& gpu, std::span<const Slice> existing, const Slice& add) {
  if (const EngineKind* short_kind = ShortEngine(gpu, existing, add)) {
    const EngineKind& kind = *short_kind;
    int need = add.profile->engines.*kind.field;
    std::vector<std::string> holders;
    for (const auto& s : existing)
      if (s.profile->engines.*kind.field > 0) holders.push_back(Holder(s));
    int total = gpu.engines.*kind.field;
    std::string have = total == 1 ? fmt::format("the GPU's only {}", kind.name)
                                  : fmt::format("the GPU's {} {}s", total, kind.name);
    return Status::Insufficient(
        fmt::format("{} needs {} {}{}, but {} {} held by {}", add.Name(), need, kind.name,
                    need == 1 ? "" : "s", have, total == 1 ? "is" : "are", Join(holders)),
        add.profile->name.find("-me") != std::string::npos || total == need
            ? "Destroy the slice that holds it first."
            : "Use a profile without media engines (a -me variant where the GPU has one), or "
              "destroy the slice that holds them.");
  }
  return Status::Ok();
}

}  // namespace

std::string Slice::Name() const { return fmt::format("{}@{}", profile->name, start); }

uint64_t UnitMask(std::span<const Slice> slices) {
  uint64_t m = 0;
  for (const auto& s : slices) m |= MaskOf(s.placement());
  return m;
}

bool Fits(const GpuModel& gpu, std::span<const Slice> existing, const Slice& add) {
  const Profile& p = *add.profile;
  if (!p.LegalStart(add.start)) return false;
  uint64_t mine = MaskOf(add.placement());
  int same = 0, compute = p.slices;
  Engines used = p.engines;
  for (const auto& s : existing) {
    if (mine & MaskOf(s.placement())) return false;
    same += s.profile == &p;
    compute += s.profile->slices;
    for (const auto& kind : kEngineKinds) used.*kind.field += s.profile->engines.*kind.field;
  }
  if (same >= p.max_instances || compute > gpu.compute_slices) return false;
  for (const auto& kind : kEngineKinds)
    if (used.*kind.field > gpu.engines.*kind.field) return false;
  return true;
}

Status CheckAdd(const GpuModel& gpu, std::span<const Slice> existing, const Slice& add) {
  if (Fits(gpu, existing, add)) return Status::Ok();
  const Profile& p = *add.profile;
  if (!p.LegalStart(add.start))
    return Status::Insufficient(
        fmt::format("{} cannot start at unit {} on {}", p.name, add.start, gpu.name),
        fmt::format("{} can start at {} only.", p.name, StartList(p)));
  uint64_t mine = MaskOf(add.placement());
  for (const auto& s : existing) {
    uint64_t shared = mine & MaskOf(s.placement());
    if (shared)
      return Status::Insufficient(
          fmt::format("{} would overlap {} on {}", add.Name(), Holder(s), UnitRange(shared)),
          fmt::format("Free starts for {}: {}.", p.name, [&] {
            auto starts = FreeStarts(gpu, existing, p);
            std::vector<std::string> s;
            for (int x : starts) s.push_back(std::to_string(x));
            return s.empty() ? std::string("none") : Join(s);
          }()));
  }
  // Engines before counts: "the only OFA is held by …" explains more than "at most 1".
  CARVE_RETURN_IF_ERROR(CheckEngines(gpu, existing, add));
  int same = static_cast<int>(std::count_if(existing.begin(), existing.end(),
                                            [&](const Slice& s) { return s.profile == &p; }));
  if (same >= p.max_instances)
    return Status::Insufficient(fmt::format("{} takes at most {} {} per GPU, and {} already there",
                                            gpu.name, p.max_instances, p.name,
                                            same == 1 ? "one is" : fmt::format("{} are", same)));
  int compute = p.slices;
  for (const auto& s : existing) compute += s.profile->slices;
  if (compute > gpu.compute_slices)
    return Status::Insufficient(
        fmt::format("{} would bring the GPU to {} compute slices; {} has {}", add.Name(), compute,
                    gpu.name, gpu.compute_slices));
  return Status::Internal(fmt::format("layout rules disagree about {}", add.Name()));
}

Status CheckLayout(const GpuModel& gpu, std::span<const Slice> layout) {
  if (!gpu.mig) return Status::NotSupported(fmt::format("{} does not support MIG", gpu.name));
  std::vector<Slice> seen;
  for (const auto& s : layout) {
    CARVE_RETURN_IF_ERROR(CheckAdd(gpu, seen, s));
    seen.push_back(s);
  }
  return Status::Ok();
}

std::vector<int> FreeStarts(const GpuModel& gpu, std::span<const Slice> existing,
                            const Profile& profile) {
  std::vector<int> out;
  for (const auto& pl : profile.placements)
    if (Fits(gpu, existing, Slice{&profile, pl.start})) out.push_back(pl.start);
  return out;
}

int RemainingCapacity(const GpuModel& gpu, std::span<const Slice> existing,
                      const Profile& profile) {
  std::vector<Slice> layout(existing.begin(), existing.end());
  int n = 0;
  while (true) {
    auto starts = FreeStarts(gpu, layout, profile);
    if (starts.empty()) return n;
    layout.push_back(Slice{&profile, starts.front()});
    ++n;
  }
}

std::optional<int> DriverChosenStart(const GpuModel& gpu, std::span<const Slice> existing,
                                     const Profile& profile) {
  auto starts = FreeStarts(gpu, existing, profile);
  if (starts.empty()) return std::nullopt;
  return starts.back();
}

namespace {

// Counts the (profile, start) pairs that could still be added to `layout`.
int Room(const GpuModel& gpu, std::span<const Slice> layout) {
  int room = 0;
  for (const auto& p : gpu.profiles)
    for (const auto& pl : p.placements) room += Fits(gpu, layout, Slice{&p, pl.start});
  return room;
}

struct Search {
  const GpuModel& gpu;
  std::span<const SliceRequest> requests;
  std::vector<size_t> order;  // requests, largest first
  std::vector<Slice> layout;  // fixed + placed so far
  std::vector<int> starts;    // per request
  std::vector<int> best_starts;
  int best_room = -1;

  void Run(size_t k) {
    if (k == order.size()) {
      int room = Room(gpu, layout);
      if (room > best_room || (room == best_room && starts < best_starts)) {
        best_room = room;
        best_starts = starts;
      }
      return;
    }
    size_t i = order[k];
    const SliceRequest& r = requests[i];
    // Identical unplaced requests are interchangeable: keep their starts ascending.
    int floor = -1;
    if (k > 0) {
      size_t prev = order[k - 1];
      if (requests[prev].profile == r.profile && !requests[prev].start && !r.start)
        floor = starts[prev];
    }
    for (const auto& pl : r.profile->placements) {
      if (r.start && pl.start != *r.start) continue;
      if (pl.start <= floor) continue;
      Slice s{r.profile, pl.start};
      if (!Fits(gpu, layout, s)) continue;
      layout.push_back(s);
      starts[i] = pl.start;
      Run(k + 1);
      layout.pop_back();
    }
  }
};

// Explains why no assignment exists, from the plainest reason to the subtlest.
Status Explain(const GpuModel& gpu, std::span<const Slice> fixed,
               std::span<const SliceRequest> requests) {
  std::map<const Profile*, int> count;
  std::vector<const Profile*> all;
  for (const auto& s : fixed) all.push_back(s.profile);
  for (const auto& r : requests) all.push_back(r.profile);
  int units = 0, compute = 0;
  Engines used;
  for (const Profile* p : all) {
    ++count[p];
    units += p->size();
    compute += p->slices;
    for (const auto& kind : kEngineKinds) used.*kind.field += p->engines.*kind.field;
  }
  std::string kept = fixed.empty() ? "" : fmt::format(" (with {} already there)", [&] {
    std::vector<std::string> n;
    for (const auto& s : fixed) n.push_back(Holder(s));
    return Join(n);
  }());
  auto breakdown = [&] {
    std::vector<std::string> parts;
    for (const auto& [p, n] : count)
      parts.push_back(n == 1 ? fmt::format("{} takes {}", p->name, p->size())
                             : fmt::format("{}×{} take {} each", p->name, n, p->size()));
    return Join(parts);
  };
  if (units > gpu.placement_units)
    return Status::Insufficient(
        fmt::format("these slices{} need {} placement units and {} has {}: {}", kept, units,
                    gpu.name, gpu.placement_units, breakdown()),
        "Drop a slice or choose smaller profiles (see `carve profiles`).");
  for (const auto& [p, n] : count)
    if (n > p->max_instances)
      return Status::Insufficient(fmt::format("{} takes at most {} {} per GPU; {} asked{}",
                                              gpu.name, p->max_instances, p->name, n, kept));
  if (compute > gpu.compute_slices)
    return Status::Insufficient(fmt::format("these slices{} need {} compute slices and {} has {}",
                                            kept, compute, gpu.name, gpu.compute_slices));
  for (const auto& kind : kEngineKinds) {
    if (used.*kind.field <= gpu.engines.*kind.field) continue;
    std::vector<std::string> users;
    for (const auto& [p, n] : count)
      if (p->engines.*kind.field)
        users.push_back(n == 1 ? p->name : fmt::format("{}×{}", p->name, n));
    return Status::Insufficient(
        fmt::format("these slices{} need {} {}s ({}) and {} has {}", kept, used.*kind.field,
                    kind.name, Join(users), gpu.name, gpu.engines.*kind.field),
        "At most one media-engine (+me) slice fits at a time.");
  }
  std::vector<std::string> rules;
  for (const auto& [p, n] : count) rules.push_back(fmt::format("{} at {}", p->name, StartList(*p)));
  return Status::Insufficient(
      fmt::format("no arrangement of these slices{} fits on {}: the starts collide ({})", kept,
                  gpu.name, Join(rules, "; ")),
      "Give fewer slices, or other profiles; `carve profiles` shows what still fits.");
}

}  // namespace

Result<std::vector<Slice>> Place(const GpuModel& gpu, std::span<const Slice> fixed,
                                 std::span<const SliceRequest> requests) {
  if (!gpu.mig) return Status::NotSupported(fmt::format("{} does not support MIG", gpu.name));
  CARVE_RETURN_IF_ERROR(CheckLayout(gpu, fixed));
  Search search{gpu, requests, {}, {}, {}, {}, -1};
  search.layout.assign(fixed.begin(), fixed.end());
  search.starts.assign(requests.size(), -1);
  for (size_t i = 0; i < requests.size(); ++i) search.order.push_back(i);
  // Pinned first, then by size, largest first (fewer choices, earlier pruning);
  // the sort is stable so equal requests keep their order.
  std::stable_sort(search.order.begin(), search.order.end(), [&](size_t a, size_t b) {
    const auto &ra = requests[a], &rb = requests[b];
    if (ra.start.has_value() != rb.start.has_value()) return ra.start.has_value();
    if (ra.profile->size() != rb.profile->size()) return ra.profile->size() > rb.profile->size();
    return ra.profile->name < rb.profile->name;
  });
  search.Run(0);
  if (search.best_room < 0) return Explain(gpu, fixed, requests);
  std::vector<Slice> out;
  for (size_t i = 0; i < requests.size(); ++i)
    out.push_back(Slice{requests[i].profile, search.best_starts[i]});
  return out;
}

namespace {

void Enumerate(const GpuModel& gpu, const std::vector<Slice>& candidates, size_t from,
               std::vector<Slice>& layout, std::vector<std::vector<Slice>>& out) {
  out.push_back(layout);
  for (size_t i = from; i < candidates.size(); ++i) {
    if (!Fits(gpu, layout, candidates[i])) continue;
    layout.push_back(candidates[i]);
    Enumerate(gpu, candidates, i + 1, layout, out);
    layout.pop_back();
  }
}

}  // namespace

std::vector<std::vector<Slice>> EnumerateValid(const GpuModel& gpu) {
  std::vector<std::vector<Slice>> out;
  if (!gpu.mig) return out;
  // Candidates ordered by start so every layout comes out sorted by start.
  std::vector<Slice> candidates;
  for (const auto& p : gpu.profiles)
    for (const auto& pl : p.placements) candidates.push_back(Slice{&p, pl.start});
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Slice& a, const Slice& b) { return a.start < b.start; });
  std::vector<Slice> layout;
  Enumerate(gpu, candidates, 0, layout, out);
  return out;
}

std::vector<std::vector<Slice>> EnumerateMaximal(const GpuModel& gpu) {
  std::vector<std::vector<Slice>> out;
  for (auto& layout : EnumerateValid(gpu)) {
    bool maximal = true;
    for (const auto& p : gpu.profiles) {
      if (!FreeStarts(gpu, layout, p).empty()) {
        maximal = false;
        break;
      }
    }
    if (maximal) out.push_back(std::move(layout));
  }
  return out;
}

std::string UnitRuns(uint64_t mask, int units) {
  std::vector<std::pair<int, int>> runs;
  for (int u = 0; u < units; ++u)
    if (mask >> u & 1) {
      if (!runs.empty() && runs.back().second == u - 1)
        runs.back().second = u;
      else
        runs.push_back({u, u});
    }
  std::string out;
  for (auto [a, b] : runs)
    out += (out.empty() ? "" : ", ") + (a == b ? std::to_string(a) : fmt::format("{}–{}", a, b));
  return out;
}

std::string WhyNoStart(const GpuModel& gpu, std::span<const Slice> layout, const Profile& p) {
  int same = 0;
  for (const auto& s : layout) same += s.profile == &p;
  if (same >= p.max_instances) return fmt::format("max {} reached", p.max_instances);
  std::set<int> holders;
  bool everywhere = true;
  for (const auto& pl : p.placements) {
    bool hit = false;
    for (const auto& s : layout)
      if (s.placement().Overlaps(pl)) holders.insert(s.gi), hit = true;
    everywhere &= hit;
  }
  std::string gis;
  for (int gi : holders) gis += (gis.empty() ? "" : ", ") + std::to_string(gi);
  if (everywhere && p.placements.size() == 1)
    return fmt::format(
        "needs units {}: held by GI {}",
        UnitRuns(((uint64_t{1} << p.size()) - 1) << p.placements[0].start, gpu.placement_units),
        gis);
  uint64_t all = (uint64_t{1} << gpu.placement_units) - 1;
  if (everywhere && (UnitMask(layout) & all) == all) return "no units free";
  if (everywhere) return fmt::format("every start taken (GI {})", gis);
  const EngineKind* kind = ShortEngine(gpu, layout, Slice{&p, p.placements.front().start});
  if (kind && kind->field == &Engines::ofa) return "the only OFA is in use";
  if (kind && kind->field == &Engines::ce) return "copy engines in use";
  if (kind) return "media engines in use";
  return "no room";
}

}  // namespace carve::mig
