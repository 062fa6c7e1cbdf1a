#include "up/failover.h"

#include <fmt/format.h>

#include <algorithm>

#include "mig/layout.h"

namespace carve::up {
namespace {

using plan::PlannedGpu;
using plan::PlannedSlice;

// A MIG GPU of the plan by its index on this machine.
PlannedGpu* GpuAt(plan::Plan& p, int gpu) {
  for (auto& g : p.gpus)
    if (g.gpu.local_index == gpu && g.mig && g.gpu.model) return &g;
  return nullptr;
}

std::vector<mig::Slice> SlicesOf(const PlannedGpu& g) {
  std::vector<mig::Slice> out;
  for (const auto& s : g.slices)
    if (s.profile) out.push_back({s.profile, s.start});
  return out;
}

std::string Where(const PlannedGpu& g, const PlannedSlice& s) {
  return device::SliceRef{g.gpu.local_index, s.profile ? s.profile->name : "", s.start}.str();
}

bool Same(const device::SliceRef& r, const PlannedGpu& g, const PlannedSlice& s) {
  return r.gpu == g.gpu.local_index && s.profile && r.profile == s.profile->name &&
         r.start == s.start;
}

// An empty slice of `profile` at `start` (or a free placement for one, made),
// given the replicas of `from`.
bool PlaceOn(PlannedGpu& g, const mig::Profile* profile, int start, PlannedSlice& from,
             const std::vector<device::SliceRef>& quarantined) {
  for (auto& s : g.slices)
    if (s.profile == profile && s.start == start) {
      if (!s.replicas.empty() || std::any_of(quarantined.begin(), quarantined.end(),
                                             [&](const auto& q) { return Same(q, g, s); }))
        return false;
      s.replicas = std::move(from.replicas);
      return true;
    }
  if (!profile->LegalStart(start) || !mig::Fits(*g.gpu.model, SlicesOf(g), {profile, start}))
    return false;
  PlannedSlice made;
  made.profile = profile;
  made.start = start;
  made.memory_mib = profile->memory_mib;
  made.kept = std::any_of(g.gpu.current.begin(), g.gpu.current.end(), [&](const mig::Slice& c) {
    return c.profile == profile && c.start == start;
  });
  made.replicas = std::move(from.replicas);
  g.slices.push_back(std::move(made));
  return true;
}

void SortByStart(PlannedGpu& g) {
  std::sort(g.slices.begin(), g.slices.end(),
            [](const PlannedSlice& a, const PlannedSlice& b) { return a.start < b.start; });
}

// Where the replicas of `d` (taken off GPU `g0`) go; "" when nowhere.
std::string Rehome(plan::Plan& p, PlannedGpu& g0, PlannedSlice& d,
                   const std::vector<device::SliceRef>& quarantined,
                   const std::vector<device::SliceRef>& spares) {
  const uint64_t need = d.used_mib();
  for (const auto& ref : spares) {
    PlannedGpu* g = GpuAt(p, ref.gpu);
    const mig::Profile* prof = g ? g->gpu.model->FindProfile(ref.profile) : nullptr;
    if (prof && prof->memory_mib >= need && PlaceOn(*g, prof, ref.start, d, quarantined))
      return "the spare " + ref.str();
  }
  for (auto& g : p.gpus)
    for (auto& s : g.slices)
      if (s.replicas.empty() && s.profile && s.memory_mib >= need &&
          std::none_of(quarantined.begin(), quarantined.end(),
                       [&](const auto& q) { return Same(q, g, s); })) {
        s.replicas = std::move(d.replicas);
        return "the free " + Where(g, s);
      }
  std::vector<PlannedGpu*> order{&g0};
  for (auto& g : p.gpus)
    if (&g != &g0 && g.mig && g.gpu.model == g0.gpu.model) order.push_back(&g);
  for (PlannedGpu* g : order) {
    auto starts = mig::FreeStarts(*g->gpu.model, SlicesOf(*g), *d.profile);
    if (starts.empty()) continue;
    PlaceOn(*g, d.profile, starts.front(), d, quarantined);
    SortByStart(*g);
    return "a new " + device::SliceRef{g->gpu.local_index, d.profile->name, starts.front()}.str();
  }
  return "";
}

std::string Models(const plan::Plan& p, const PlannedSlice& s) {
  std::string out;
  for (const auto& r : s.replicas) out += (out.empty() ? "" : "+") + p.models.at(r.model).name;
  return out;
}

}  // namespace

std::vector<std::string> AvoidQuarantined(plan::Plan& p,
                                          const std::vector<device::SliceRef>& quarantined,
                                          const std::vector<device::SliceRef>& spares) {
  std::vector<std::string> lines;
  std::vector<std::pair<PlannedGpu*, PlannedSlice>> displaced;
  for (const auto& q : quarantined) {
    PlannedGpu* g = GpuAt(p, q.gpu);
    const mig::Profile* prof = g ? g->gpu.model->FindProfile(q.profile) : nullptr;
    if (!prof) {
      lines.push_back(
          fmt::format("{} is quarantined but is not a MIG slice carve can keep", q.str()));
      continue;
    }
    const mig::Placement bad{q.start, prof->size()};
    auto overlaps = [&](const PlannedSlice& s) {
      return s.profile && bad.Overlaps({s.start, s.profile->size()});
    };
    for (auto& s : g->slices)
      if (overlaps(s) && !s.replicas.empty()) displaced.emplace_back(g, std::move(s));
    std::erase_if(g->slices, overlaps);
    // Kept, empty: nothing is made over its units, nothing runs on it.
    PlannedSlice keep;
    PlaceOn(*g, prof, q.start, keep, {});
    SortByStart(*g);
  }
  for (auto& [g, d] : displaced) {
    std::string from = Where(*g, d), models = Models(p, d);
    std::string to = Rehome(p, *g, d, quarantined, spares);
    lines.push_back(to.empty() ? fmt::format("{} ({}) fits nowhere free: its model serves with "
                                             "fewer replicas until room frees",
                                             from, models)
                               : fmt::format("{} ({}) moves to {}", from, models, to));
  }
  return lines;
}

std::vector<device::SliceRef> ReserveSpares(plan::Plan& p, const std::string& profile, int count,
                                            const std::vector<device::SliceRef>& spares,
                                            std::string& short_note, bool make_new) {
  std::vector<device::SliceRef> out;
  short_note.clear();
  PlannedSlice none;
  auto take = [&](PlannedGpu& g, const mig::Profile* prof, int start) {
    if (int(out.size()) >= count || !PlaceOn(g, prof, start, none, {})) return false;
    SortByStart(g);
    out.push_back({g.gpu.local_index, prof->name, start});
    return true;
  };
  for (const auto& ref : spares)
    if (PlannedGpu* g = GpuAt(p, ref.gpu); g && ref.profile == profile)
      if (const mig::Profile* prof = g->gpu.model->FindProfile(profile)) take(*g, prof, ref.start);
  if (!make_new) return out;
  // GPUs in use first: a spare there needs no MIG mode change.
  std::vector<PlannedGpu*> order;
  for (auto& g : p.gpus)
    if (g.used()) order.push_back(&g);
  for (auto& g : p.gpus)
    if (!g.used()) order.push_back(&g);
  for (PlannedGpu* g : order) {
    if (!g->mig || !g->gpu.model) continue;
    const mig::Profile* prof = g->gpu.model->FindProfile(profile);
    while (prof && int(out.size()) < count) {
      auto starts = mig::FreeStarts(*g->gpu.model, SlicesOf(*g), *prof);
      if (starts.empty() || !take(*g, prof, starts.front())) break;
    }
  }
  if (int(out.size()) < count)
    short_note =
        fmt::format("spare: {} of {} {} slice(s) fit beside the plan", out.size(), count, profile);
  return out;
}

}  // namespace carve::up
