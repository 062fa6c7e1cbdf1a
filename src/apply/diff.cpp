#include "apply/diff.h"

#include <fmt/format.h>

#include <algorithm>

namespace carve::apply {
namespace {

struct Have {  // a slice the GPU holds
  SliceChange change;
  bool kept = false;
};

std::vector<Have> HaveOf(const device::Gpu& gpu) {
  std::vector<Have> out;
  if (!gpu.model || !gpu.mig.current) return out;
  for (const auto& gi : gpu.gpu_instances) {
    const mig::Profile* p = gpu.model->FindProfileById(gi.profile_id);
    if (!p) continue;
    Have h;
    h.change.spec = SliceSpec{p, gi.placement.start, CiProfilesOf(*gpu.model, gi)};
    h.change.gi = gi.id;
    h.change.cis = gi.compute_instances;
    for (const auto& proc : gpu.processes)
      if (proc.gi == gi.id) h.change.processes.push_back(proc);
    out.push_back(std::move(h));
  }
  return out;
}

mig::Slice AsSlice(const SliceSpec& s) { return mig::Slice{s.profile, *s.start}; }

bool Overlaps(const SliceSpec& a, const SliceSpec& b) {
  return AsSlice(a).placement().Overlaps(AsSlice(b).placement());
}

std::vector<mig::SliceRequest> Unplaced(const std::vector<const SliceSpec*>& flexible,
                                        const std::vector<bool>& used) {
  std::vector<mig::SliceRequest> out;
  for (size_t i = 0; i < flexible.size(); ++i)
    if (!used[i]) out.push_back(mig::SliceRequest{flexible[i]->profile, std::nullopt, nullptr});
  return out;
}

// Slices with processes first, so they are the ones kept when there is a choice.
std::vector<Have*> Candidates(std::vector<Have>& have, const std::vector<SliceSpec>& pinned_new) {
  std::vector<Have*> out;
  for (auto& h : have) {
    bool clash = std::any_of(pinned_new.begin(), pinned_new.end(),
                             [&](const SliceSpec& p) { return Overlaps(p, h.change.spec); });
    if (!h.kept && !clash) out.push_back(&h);
  }
  std::stable_sort(out.begin(), out.end(), [](Have* a, Have* b) {
    return !a->change.processes.empty() && b->change.processes.empty();
  });
  return out;
}

// Decides what is kept and where new slices go; fills d.keep, d.create, d.after.
struct Matcher {
  const mig::GpuModel& model;
  std::vector<Have>& have;
  GpuDiff& d;
  std::vector<mig::Slice> fixed{};           // kept and pinned slices: what the rest goes around
  std::vector<const SliceSpec*> flexible{};  // wanted slices without a start
  std::vector<bool> used{};                  // flexible[i] is met by a kept slice
  std::vector<SliceSpec> pinned_new{};       // wanted slices with a start the GPU lacks

  void Keep(Have& h) {
    h.kept = true;
    d.keep.push_back(h.change);
  }

  // A wanted slice with a start is kept when the GPU has it exactly.
  void Pinned(const std::vector<SliceSpec>& wanted) {
    for (const auto& want : wanted) {
      if (!want.start) {
        flexible.push_back(&want);
        continue;
      }
      auto h = std::find_if(have.begin(), have.end(), [&](const Have& x) {
        return !x.kept && x.change.spec.start == want.start && x.change.spec.SameShape(want);
      });
      h != have.end() ? Keep(*h) : pinned_new.push_back(want);
      fixed.push_back(AsSlice(want));
    }
    used.assign(flexible.size(), false);
  }

  // A wanted slice without a start is met by one the GPU has, when the rest
  // of the layout still fits around it.
  void Flexible() {
    for (Have* h : Candidates(have, pinned_new)) {
      size_t i = 0;
      while (i < flexible.size() && (used[i] || !flexible[i]->SameShape(h->change.spec))) ++i;
      if (i == flexible.size()) continue;
      fixed.push_back(AsSlice(h->change.spec));
      used[i] = true;
      if (mig::Place(model, fixed, Unplaced(flexible, used)).ok()) {
        Keep(*h);
        continue;
      }
      fixed.pop_back();
      used[i] = false;
    }
  }

  Status PlaceRest() {
    auto placed = mig::Place(model, fixed, Unplaced(flexible, used));
    if (!placed.ok()) return placed.status();
    for (auto& s : pinned_new) d.create.push_back(SliceChange{.spec = s});
    for (size_t i = 0, j = 0; i < flexible.size(); ++i) {
      if (used[i]) continue;
      SliceSpec s = *flexible[i];
      s.start = (*placed)[j++].start;
      d.create.push_back(SliceChange{.spec = s});
    }
    for (const auto& k : d.keep) d.after.slices.push_back(k.spec);
    for (const auto& c : d.create) d.after.slices.push_back(c.spec);
    return Status::Ok();
  }
};

Status Match(const mig::GpuModel& model, const GpuLayout& target, std::vector<Have>& have,
             GpuDiff& d) {
  Matcher m{model, have, d};
  m.Pinned(target.slices);
  m.Flexible();
  return m.PlaceRest();
}

std::string Units(const SliceSpec& s) {
  auto pl = AsSlice(s).placement();
  return pl.size == 1 ? fmt::format("unit {}", pl.start)
                      : fmt::format("units {}–{}", pl.start, pl.end() - 1);
}

std::string WhyDestroy(const SliceSpec& s, const GpuLayout& target, const GpuDiff& d) {
  if (!target.mig) return "the layout turns MIG off";
  SliceSpec shape = s;
  shape.start.reset();
  auto same = [&](const SliceSpec& x) { return x.SameShape(s); };
  long wanted = std::count_if(target.slices.begin(), target.slices.end(), same);
  if (wanted == 0) {
    for (const auto& w : target.slices)
      if (w.profile == s.profile)
        return fmt::format("the layout wants {} with other compute instances", s.profile->name);
    return fmt::format("the layout has no {}", shape.Name());
  }
  long kept = std::count_if(d.keep.begin(), d.keep.end(), [&](auto& k) { return same(k.spec); });
  for (const auto& c : d.create)
    if (Overlaps(c.spec, s))
      return fmt::format("the layout needs {} for {}", Units(s), c.spec.Name());
  if (kept >= wanted) return fmt::format("the layout has only {} {}", wanted, shape.Name());
  return "keeping it leaves no room for the rest of the layout";
}

}  // namespace

bool GpuDiff::in_use() const {
  if (!mode_blockers.empty()) return true;
  return std::any_of(destroy.begin(), destroy.end(),
                     [](const SliceChange& c) { return !c.processes.empty(); });
}

std::string ProcessText(const device::Process& p) {
  return fmt::format("process {} ({}, {:.1f} GiB)", p.pid, p.name, p.memory_mib / 1024.0);
}

Result<GpuDiff> DiffGpu(const device::Gpu& gpu, const GpuLayout& target) {
  std::string where = fmt::format("GPU {} (asked for in {})", gpu.index, target.source);
  if (target.mig && (!gpu.model || !gpu.model->mig))
    return Status::NotSupported(fmt::format("{}: {} does not support MIG", where, gpu.name),
                                "Say mig: off for it, or leave it out of the layout.");
  GpuDiff d;
  d.before = gpu;
  d.after = target;
  d.after.slices.clear();
  std::vector<Have> have = HaveOf(gpu);
  if (target.mig) {
    Status st = Match(*gpu.model, target, have, d);
    if (!st.ok()) return st.Prefixed(where);
  }
  for (auto& h : have) {
    if (h.kept) continue;
    h.change.why = WhyDestroy(h.change.spec, target, d);
    d.destroy.push_back(h.change);
  }
  bool flips = gpu.mig_capable && gpu.mig.current != target.mig;
  d.mode_change = gpu.mig_capable && (flips || gpu.mig.pending != target.mig);
  d.reset = flips && gpu.arch == mig::Arch::kAmpere;
  if (flips)
    for (const auto& p : gpu.processes)
      if (p.gi < 0) d.mode_blockers.push_back(p);
  return d;
}

}  // namespace carve::apply
