#include "up/moves.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace carve::up {
namespace {

const device::Gpu* GpuOf(const std::vector<device::Gpu>& gpus, int index) {
  auto it = std::find_if(gpus.begin(), gpus.end(), [&](const auto& g) { return g.index == index; });
  return it == gpus.end() ? nullptr : &*it;
}

bool WantedOnIt(const Slot& s, const std::vector<Slot>& arriving) {
  return std::any_of(arriving.begin(), arriving.end(), [&](const Slot& a) {
    return a.gpu == s.gpu && a.profile == s.profile && a.start == s.start;
  });
}

// Why the slice of `s` cannot stay while the final layout `l` is made, or "".
std::string InTheWay(const Slot& s, const apply::GpuLayout& l, const device::Gpu* gpu) {
  if (s.profile == "whole" || !l.mig || !gpu || !gpu->mig.current)
    return fmt::format("GPU {} changes its MIG mode", s.gpu);
  const mig::Profile* p = l.model ? l.model->FindProfile(s.profile) : nullptr;
  if (!p) return fmt::format("{} is not a profile of GPU {}", s.profile, s.gpu);
  const mig::Placement old{s.start, p->size()};
  for (const auto& n : l.slices) {
    if (!n.profile || !n.start) continue;
    if (n.profile == p && *n.start == s.start) return "";  // the final layout keeps it
    if (old.Overlaps({*n.start, n.profile->size()}))
      return fmt::format("{} overlaps the new {}", s.where(), n.Name());
  }
  return "";
}

bool Holds(const apply::GpuLayout& l, const mig::Profile* p, int start) {
  return std::any_of(l.slices.begin(), l.slices.end(),
                     [&](const auto& n) { return n.profile == p && n.start == start; });
}

// The one model a planned slice serves, or -1 (none, or several).
int OnlyModel(const plan::PlannedSlice& s) {
  if (s.replicas.empty()) return -1;
  for (const auto& r : s.replicas)
    if (r.model != s.replicas.front().model) return -1;
  return s.replicas.front().model;
}

bool Legal(const plan::PlannedGpu& g) {
  std::vector<mig::Slice> slices;
  for (const auto& s : g.slices) slices.push_back({s.profile, s.start});
  return mig::CheckLayout(*g.gpu.model, slices).ok();
}

}  // namespace

void StayPut(plan::Plan& p, const std::vector<Running>& running,
             const std::set<std::string>& stable) {
  for (auto& g : p.gpus) {
    if (!g.mig || !g.gpu.model || g.slices.empty()) continue;
    // Whether running replica `r` is of model `m`, on this GPU, of `s`'s profile.
    auto on = [&](const Running& r, int m, const plan::PlannedSlice& s) {
      return m >= 0 && r.model == p.models.at(m).name && r.slot.gpu == g.gpu.local_index &&
             r.slot.profile == s.profile->name;
    };
    std::vector<bool> claimed(running.size(), false);
    for (auto& s : g.slices) {
      int m = OnlyModel(s);
      if (m < 0 || !s.profile || !stable.count(p.models.at(m).name)) continue;
      // Already where one of its engines runs: claim that one.
      auto home = std::find_if(running.begin(), running.end(), [&](const Running& r) {
        return !claimed[&r - running.data()] && on(r, m, s) && r.slot.start == s.start;
      });
      if (home != running.end()) {
        claimed[home - running.begin()] = true;
        continue;
      }
      for (size_t k = 0; k < running.size(); ++k) {
        if (claimed[k] || !on(running[k], m, s)) continue;
        const int to = running[k].slot.start, from = s.start;
        auto other = std::find_if(g.slices.begin(), g.slices.end(), [&](const auto& o) {
          return o.profile == s.profile && o.start == to;
        });
        if (other != g.slices.end()) {
          // A swap (the same slices), unless the slice there is its own model's
          // or already its model's home.
          int om = OnlyModel(*other);
          bool taken = om == m || std::any_of(running.begin(), running.end(), [&](const auto& r) {
                         return on(r, om, *other) && r.slot.start == to;
                       });
          if (taken) continue;
          other->start = from;
          s.start = to;
        } else {
          s.start = to;
          if (!Legal(g)) {
            s.start = from;
            continue;
          }
        }
        claimed[k] = true;
        break;
      }
    }
    for (auto& s : g.slices)
      s.kept = std::any_of(g.gpu.current.begin(), g.gpu.current.end(), [&](const mig::Slice& c) {
        return c.profile == s.profile && c.start == s.start;
      });
  }
}

Interim InterimLayouts(const apply::Layouts& final_layouts, const std::vector<device::Gpu>& gpus,
                       const std::vector<Leaving>& leaving, const std::vector<Slot>& arriving) {
  Interim out{final_layouts, {}};
  for (const auto& r : leaving) {
    if (WantedOnIt(r.slot, arriving)) {
      out.stop_first[r.id] =
          fmt::format("its successor is wanted on its slice ({})", r.slot.where());
      continue;
    }
    auto l = std::find_if(out.layouts.begin(), out.layouts.end(),
                          [&](const auto& g) { return g.gpu == r.slot.gpu; });
    if (l == out.layouts.end()) continue;  // the plan leaves this GPU alone: the slice stays
    // Checked against the final layout (not the interim one): two old slices
    // never overlap each other, as both exist now.
    const apply::GpuLayout& fin = final_layouts[l - out.layouts.begin()];
    if (std::string why = InTheWay(r.slot, fin, GpuOf(gpus, r.slot.gpu)); !why.empty()) {
      out.stop_first[r.id] = why;
      continue;
    }
    const mig::Profile* p = l->model->FindProfile(r.slot.profile);
    if (!Holds(*l, p, r.slot.start))
      l->slices.push_back(apply::FullSlice(*l->model, *p, r.slot.start));
  }
  return out;
}

std::set<std::string> DarkModels(const Interim& interim,
                                 const std::map<std::string, std::string>& model_of,
                                 const std::set<std::string>& moving) {
  std::set<std::string> dark;
  for (const auto& id : moving)
    if (interim.stop_first.count(id) && model_of.count(id)) dark.insert(model_of.at(id));
  for (const auto& [id, model] : model_of)
    if (!interim.stop_first.count(id)) dark.erase(model);  // one stays ready
  return dark;
}

namespace {

bool Overlaps(const apply::GpuLayout& l, const mig::Placement& pl) {
  return std::any_of(l.slices.begin(), l.slices.end(), [&](const apply::SliceSpec& n) {
    return n.profile && n.start && pl.Overlaps({*n.start, n.profile->size()});
  });
}

bool OverlapsNow(const device::Gpu& g, const mig::Placement& pl) {
  return std::any_of(g.gpu_instances.begin(), g.gpu_instances.end(),
                     [&](const device::GpuInstance& gi) { return pl.Overlaps(gi.placement); });
}

bool Used(const device::Gpu& g, int gi) {
  return std::any_of(g.processes.begin(), g.processes.end(),
                     [&](const device::Process& pr) { return pr.gi == gi; });
}

bool LegalWith(const apply::GpuLayout& l, const mig::Profile& p, int start) {
  std::vector<mig::Slice> slices;
  for (const auto& n : l.slices)
    if (n.profile && n.start) slices.push_back({n.profile, *n.start});
  slices.push_back({&p, start});
  return mig::CheckLayout(*l.model, slices).ok();
}

apply::GpuLayout* LayoutFor(Interim& interim, int gpu) {
  auto it = std::find_if(interim.layouts.begin(), interim.layouts.end(),
                         [&](const auto& l) { return l.gpu == gpu; });
  return it == interim.layouts.end() ? nullptr : &*it;
}

// An idle slice of `want`'s profile that stays through the interim layout
// (added to it where the interim layout would destroy it), or nullopt.
std::optional<Slot> IdleSlice(Interim& interim, const std::vector<device::Gpu>& gpus,
                              const Slot& want, const std::set<std::string>& busy) {
  for (const auto& g : gpus) {
    if (!g.model || !g.mig.current) continue;
    const mig::Profile* p = g.model->FindProfile(want.profile);
    if (!p) continue;
    for (const auto& gi : g.gpu_instances) {
      Slot s = want;
      s.gpu = g.index, s.start = gi.placement.start;
      if (gi.profile != want.profile || gi.compute_instances.empty() || !gi.fault.empty() ||
          busy.count(s.where()) || Used(g, gi.id))
        continue;
      apply::GpuLayout* l = LayoutFor(interim, g.index);
      if (!l) return s;  // the change leaves this GPU alone
      if (Holds(*l, p, s.start)) return s;
      if (!l->mig || Overlaps(*l, gi.placement)) continue;  // the interim layout destroys it
      l->slices.push_back({p, s.start, apply::CiProfilesOf(*g.model, gi)});
      return s;
    }
  }
  return std::nullopt;
}

// A free placement of `want`'s profile, added to the interim layout, or nullopt.
std::optional<Slot> FreePlacement(Interim& interim, const std::vector<device::Gpu>& gpus,
                                  const Slot& want) {
  for (auto& l : interim.layouts) {
    const device::Gpu* g = GpuOf(gpus, l.gpu);
    if (!l.mig || !l.model || !g || !g->mig.current) continue;
    const mig::Profile* p = l.model->FindProfile(want.profile);
    if (!p) continue;
    for (const auto& pl : p->placements) {
      if (OverlapsNow(*g, pl) || Overlaps(l, pl) || !LegalWith(l, *p, pl.start)) continue;
      l.slices.push_back(apply::FullSlice(*l.model, *p, pl.start));
      Slot s = want;
      s.gpu = l.gpu, s.start = pl.start;
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace

std::vector<TemporaryHome> AddTemporaryHomes(Interim& interim, const std::vector<device::Gpu>& gpus,
                                             const std::map<std::string, Slot>& wanted,
                                             std::set<std::string> busy) {
  std::vector<TemporaryHome> out;
  for (const auto& [model, want] : wanted) {
    Slot base = want;
    base.gi = base.ci = -1, base.uuid.clear();
    if (base.profile == "whole") continue;
    std::optional<Slot> s = IdleSlice(interim, gpus, base, busy);
    bool made = !s;
    if (!s) s = FreePlacement(interim, gpus, base);
    if (!s) continue;
    busy.insert(s->where());
    out.push_back({model, *s, made});
  }
  return out;
}

}  // namespace carve::up
