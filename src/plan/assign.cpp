#include "plan/assign.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "plan/sizing.h"

namespace carve::plan {
namespace {

// One GPU being filled: its layout counts, what is left, and its slots.
struct Bin {
  int fleet = 0;                                    // position in the fleet
  std::vector<int> left;                            // free slots per kind
  std::vector<std::pair<int, PlannedSlice>> slots;  // (kind, slice)
  bool Has(int model) const {
    for (const auto& [k, s] : slots)
      for (const auto& r : s.replicas)
        if (r.model == model) return true;
    return false;
  }
};

// Current slices of `g` that layout `l` would keep (by profile).
int CurrentOverlap(const FleetGpu& g, const GpuType& t, const LayoutCounts& l) {
  std::vector<int> have(t.kinds.size());
  for (const auto& s : g.current)
    for (size_t k = 0; k < t.kinds.size(); ++k)
      if (t.kinds[k].profile == s.profile) ++have[k];
  int n = 0;
  for (size_t k = 0; k < have.size(); ++k) n += std::min(have[k], l.count[k]);
  return n;
}

PlacedReplica Replica(const Problem& p, int t, int k, int i) {
  const ModelDemand& m = p.request->models[i];
  const Fit& f = p.fit[t][k][i];
  PlacedReplica r;
  r.model = i;
  r.memory_mib = m.memory_mib;
  r.throughput = m.throughput > 0 ? f.value : 0;
  if (f.option >= 0) r.args = m.options[f.option].args;
  return r;
}

class TypeFiller {
 public:
  TypeFiller(const Problem& p, const Solution& s, int t, Assignment& out)
      : p_(p), s_(s), t_(t), type_(p.types[t]), out_(out) {}

  void Run() {
    free_ = type_.members;
    PlaceTensorParallel();
    ChooseLayouts();
    PlaceSpread();
    PlaceShared();  // before the rest, so shared slices of spread models can still spread
    PlaceRest();
    for (auto& b : bins_) Finish(b);
  }

 private:
  const ModelDemand& Model(int i) const { return p_.request->models[i]; }
  int Models() const { return int(p_.request->models.size()); }

  void Fail(int i, const std::string& why) { out_.unmet.push_back({Model(i).name, why}); }

  // Whether model i still needs a replica: the solver may count more than the
  // demand (surplus costs nothing there), and a plan places none beyond it.
  bool Wanted(int i) const { return out_.left[i] > 1e-9; }
  PlacedReplica Take(const PlacedReplica& r, double value) {
    out_.left[r.model] -= value;
    return r;
  }
  PlacedReplica TakeSlice(int k, int i) {
    return Take(Replica(p_, t_, k, i), p_.fit[t_][k][i].value);
  }

  // Larger groups first, so smaller ones do not break up the hosts they need.
  void PlaceTensorParallel() {
    std::vector<int> order;
    for (int i = 0; i < Models(); ++i)
      if (p_.tp[t_][i]) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return p_.tp[t_][a] > p_.tp[t_][b]; });
    for (int i : order)
      for (int r = 0; r < s_.w[t_][i] && Wanted(i); ++r) PlaceGroup(i, p_.tp[t_][i]);
  }

  // One tensor-parallel replica of model i on k free whole GPUs of one host.
  void PlaceGroup(int i, int k) {
    std::map<std::string, std::vector<int>> by_node;
    for (int f : free_) by_node[p_.request->fleet[f].node].push_back(f);
    auto it = std::find_if(by_node.begin(), by_node.end(),
                           [&](auto& kv) { return int(kv.second.size()) >= k; });
    if (it == by_node.end()) {
      Fail(i, fmt::format("one tensor-parallel replica needs {} whole {} on one host; no host has "
                          "that many free",
                          k, type_.model->alias));
      return;
    }
    out_.left[i] -= p_.tp_fit[i].value;
    for (int n = 0; n < k; ++n) {
      PlannedGpu& g = out_.gpus[it->second[n]];
      g.mig = false;
      g.slices.push_back(
          PlannedSlice{nullptr, 0, g.gpu.model->memory_mib, false, {GroupMember(i, k)}});
      free_.erase(std::find(free_.begin(), free_.end(), it->second[n]));
    }
    ++out_.next_tp_group;
  }

  PlacedReplica GroupMember(int i, int k) const {
    const ModelDemand& m = Model(i);
    const Fit& fit = p_.tp_fit[i];
    PlacedReplica rep{i,
                      PerGpuMiB(m.memory_mib, m.overhead_mib, k),
                      m.throughput > 0 ? fit.value : 0,
                      0,
                      {},
                      out_.next_tp_group};
    if (fit.option >= 0) rep.args = m.options[fit.option].args;
    return rep;
  }

  // Each layout the solver counted goes to the free GPU that holds most of it now.
  void ChooseLayouts() {
    for (size_t l = 0; l < type_.layouts.size(); ++l)
      for (int c = 0; c < s_.y[t_][l] && !free_.empty(); ++c) {
        auto best = std::max_element(free_.begin(), free_.end(), [&](int a, int b) {
          return Overlap(a, type_.layouts[l]) < Overlap(b, type_.layouts[l]);
        });
        bins_.push_back(Bin{*best, type_.layouts[l].count, {}});
        free_.erase(best);
      }
    std::sort(bins_.begin(), bins_.end(),
              [](const Bin& a, const Bin& b) { return a.fleet < b.fleet; });
  }

  int Overlap(int fleet, const LayoutCounts& l) const {
    return CurrentOverlap(p_.request->fleet[fleet], type_, l);
  }

  PlannedSlice& Open(Bin& b, int k) {
    --b.left[k];
    b.slots.push_back(
        {k, PlannedSlice{type_.kinds[k].profile, 0, type_.kinds[k].memory_mib, false, {}}});
    return b.slots.back().second;
  }

  // Spread replicas go to the GPU with most free slots of their kind that has
  // none of the model yet.
  void PlaceSpread() {
    for (int i = 0; i < Models(); ++i) {
      if (!Model(i).spread || Model(i).share) continue;
      for (int k = 0; k < int(type_.kinds.size()); ++k)
        for (int r = 0; r < s_.x[t_][k][i] && Wanted(i); ++r) PlaceSpreadReplica(i, k);
    }
  }

  void PlaceSpreadReplica(int i, int k) {
    Bin* best = nullptr;
    for (auto& b : bins_)
      if (b.left[k] > 0 && !b.Has(i) && (!best || b.left[k] > best->left[k])) best = &b;
    if (!best)
      return Fail(i, "spread: not enough distinct GPUs with a free slice for every replica");
    Open(*best, k).replicas.push_back(TakeSlice(k, i));
  }

  void PlaceRest() {
    for (int i = 0; i < Models(); ++i) {
      if (Model(i).spread || Model(i).share) continue;
      for (int k = 0; k < int(type_.kinds.size()); ++k) {
        int todo = s_.x[t_][k][i];
        for (auto& b : bins_)
          while (todo > 0 && b.left[k] > 0 && Wanted(i))
            Open(b, k).replicas.push_back(TakeSlice(k, i)), --todo;
        if (todo > 0 && Wanted(i))
          Fail(i, "internal: the layout counts have fewer slots than the solver assigned");
      }
    }
  }

  // Shared slices: one per pattern the solver counted; then each share
  // model's replicas go to distinct slices whose pattern holds the model
  // (a spread model's to GPUs without one yet).
  void PlaceShared() {
    for (int k = 0; k < int(type_.kinds.size()); ++k) {
      shared_.clear();
      const auto& counts = s_.v[t_][k];
      for (size_t n = 0; n < counts.size(); ++n)
        for (int c = 0; c < counts[n]; ++c)
          if (!OpenShared(k, int(n))) break;
      for (int i = 0; i < Models(); ++i)
        for (int r = 0; r < s_.z[t_][k][i] && Wanted(i); ++r)
          if (!PutShared(i, k) && !(OpenSharedFor(i, k) && PutShared(i, k)))
            Fail(i, Model(i).spread
                        ? "spread: not enough distinct GPUs with a shared slice for every replica"
                        : "internal: the shared slices counted cannot hold every replica");
    }
  }

  // Opens a kind-k slice for pattern n where a GPU's layout has room: the GPU
  // with fewest shared slices already holding the pattern's spread models
  // (they need distinct GPUs), then the one with most room.
  bool OpenShared(int k, int n) {
    Bin* best = nullptr;
    int best_clash = 0;
    for (auto& b : bins_) {
      if (b.left[k] <= 0) continue;
      int clash = SpreadClash(b, n, k);
      if (!best || clash < best_clash || (clash == best_clash && b.left[k] > best->left[k]))
        best = &b, best_clash = clash;
    }
    if (!best) return false;
    Open(*best, k);
    shared_.push_back({best, best->slots.size() - 1, n});
    return true;
  }

  // One more kind-k shared slice for model i, on a GPU that has room and (for
  // a spread model) none of it yet: the counts fixed how many slices, not
  // which GPU holds them, and a spare slot can make up for a crowded GPU.
  bool OpenSharedFor(int i, int k) {
    const auto& patterns = p_.patterns[t_][k];
    auto n = std::find_if(patterns.begin(), patterns.end(), [&](const Pattern& pattern) {
      return std::binary_search(pattern.begin(), pattern.end(), i);
    });
    if (n == patterns.end()) return false;
    for (auto& b : bins_)
      if (b.left[k] > 0 && !(Model(i).spread && b.Has(i))) {
        Open(b, k);
        shared_.push_back({&b, b.slots.size() - 1, int(n - patterns.begin())});
        return true;
      }
    return false;
  }

  // Spread models of pattern n in the shared slices already opened on b.
  int SpreadClash(const Bin& b, int n, int k) const {
    int clash = 0;
    for (const auto& sh : shared_)
      if (sh.bin == &b)
        for (int i : p_.patterns[t_][k][n])
          clash += Model(i).spread && std::binary_search(p_.patterns[t_][k][sh.pattern].begin(),
                                                         p_.patterns[t_][k][sh.pattern].end(), i);
    return clash;
  }

  bool PutShared(int i, int k) {
    for (auto& [bin, idx, n] : shared_) {
      const Pattern& pattern = p_.patterns[t_][k][n];
      PlannedSlice& sl = bin->slots[idx].second;
      bool twice = std::any_of(sl.replicas.begin(), sl.replicas.end(),
                               [&](auto& r) { return r.model == i; });
      if (!std::binary_search(pattern.begin(), pattern.end(), i) || twice ||
          (Model(i).spread && bin->Has(i)))
        continue;
      sl.replicas.push_back(TakeSlice(k, i));
      return true;
    }
    return false;
  }

  // Whether b's layout stays valid with `slice` on `profile`.
  bool Fits(const Bin& b, const PlannedSlice& slice, const mig::Profile* profile) const {
    std::vector<mig::SliceRequest> reqs;
    for (const auto& [k, s] : b.slots)
      reqs.push_back({&s == &slice ? profile : s.profile, {}, nullptr});
    return mig::Place(*type_.model, {}, reqs).ok();
  }

  // Current slices of b's GPU whose profile b keeps (by count).
  int Kept(const Bin& b) const {
    std::map<const mig::Profile*, int> have;
    for (const auto& s : out_.gpus[b.fleet].gpu.current) ++have[s.profile];
    int n = 0;
    for (const auto& [k, s] : b.slots)
      if (have[s.profile]-- > 0) ++n;
    return n;
  }

  void Move(std::pair<int, PlannedSlice>& slot, size_t k2) {
    const Kind& kind = type_.kinds[k2];
    slot.first = int(k2), slot.second.profile = kind.profile,
    slot.second.memory_mib = kind.memory_mib;
    for (auto& r : slot.second.replicas) {
      PlacedReplica moved = Replica(p_, t_, int(k2), r.model);
      r.throughput = moved.throughput, r.args = moved.args;
    }
  }

  // Moves replicas of replica-demand models to the smallest kind that still
  // holds them, when the GPU's layout stays valid: stranded memory back to free.
  void Shrink(Bin& b) {
    for (auto& slot : b.slots) {
      for (size_t k2 = 0; k2 < type_.kinds.size(); ++k2) {
        const Kind& cand = type_.kinds[k2];
        if (cand.memory_mib >= type_.kinds[slot.first].memory_mib || !cand.profile) continue;
        bool ok = slot.second.used_mib() <= cand.memory_mib;
        for (const auto& r : slot.second.replicas)
          ok = ok && p_.request->models[r.model].throughput == 0 &&
               p_.fit[t_][k2][r.model].value > 0;
        if (ok && Fits(b, slot.second, cand.profile)) Move(slot, k2);
      }
    }
  }

  // Gives the GPU's idle compute to its slices: a profile of the same memory
  // and more compute slices (1g.20gb → 2g.20gb) where the layout stays valid,
  // every replica may run there at no less throughput, and no current slice
  // that would have been kept is lost (least change comes first).
  void Grow(Bin& b) {
    for (auto& slot : b.slots) {
      for (size_t k2 = type_.kinds.size(); k2-- > 0;) {
        const Kind& from = type_.kinds[slot.first];
        const Kind& cand = type_.kinds[k2];
        if (!cand.profile || cand.memory_mib != from.memory_mib || cand.compute <= from.compute)
          continue;
        bool ok = true;
        for (const auto& r : slot.second.replicas)
          ok = ok && p_.fit[t_][k2][r.model].value >= p_.fit[t_][slot.first][r.model].value;
        if (!ok || !Fits(b, slot.second, cand.profile)) continue;
        int kept = Kept(b);
        const mig::Profile* was = slot.second.profile;
        slot.second.profile = cand.profile;
        bool keeps = Kept(b) >= kept;
        slot.second.profile = was;
        if (keeps) Move(slot, k2);
      }
    }
  }

  void Finish(Bin& b) {
    PlannedGpu& g = out_.gpus[b.fleet];
    std::erase_if(b.slots, [](const auto& ks) { return ks.second.replicas.empty(); });
    if (b.slots.empty()) return;
    if (type_.fixed) {
      while (b.left[0] > 0) Open(b, 0);  // a fixed GPU keeps every slice it holds, used or not
    } else if (type_.model->mig) {
      Shrink(b), Grow(b);
    }
    for (auto& [k, s] : b.slots) g.slices.push_back(std::move(s));
    g.mig = type_.model->mig;
    if (!PlaceSlices(g, p_.request->models)) {
      for (const auto& s : g.slices)
        for (const auto& r : s.replicas)
          Fail(r.model, "internal: no valid placement for the planned slices");
      g.slices.clear();
    }
  }

  const Problem& p_;
  const Solution& s_;
  int t_;
  const GpuType& type_;
  Assignment& out_;
  std::vector<int> free_;
  std::vector<Bin> bins_;
  struct Shared {
    Bin* bin;
    size_t slot;
    int pattern;
  };
  std::vector<Shared> shared_;  // the shared slices of the kind being filled
};

}  // namespace

uint64_t PlannedSlice::used_mib() const {
  uint64_t n = 0;
  for (const auto& r : replicas) n += r.memory_mib;
  return n;
}

bool PlaceSlices(PlannedGpu& g, const std::vector<ModelDemand>& models) {
  if (g.mig) {
    // Keep current slices of a planned profile where they are.
    std::vector<mig::Slice> kept;
    std::vector<size_t> kept_of, rest_of;
    std::vector<bool> used(g.gpu.current.size(), false);
    for (size_t s = 0; s < g.slices.size(); ++s) {
      size_t c = 0;
      while (c < g.gpu.current.size() &&
             (used[c] || g.gpu.current[c].profile != g.slices[s].profile))
        ++c;
      if (c < g.gpu.current.size())
        used[c] = true, kept.push_back(g.gpu.current[c]), kept_of.push_back(s);
      else
        rest_of.push_back(s);
    }
    std::vector<mig::SliceRequest> reqs;
    for (size_t s : rest_of) reqs.push_back({g.slices[s].profile, {}, nullptr});
    auto placed = mig::Place(*g.gpu.model, kept, reqs);
    if (!placed.ok()) {
      kept.clear(), kept_of.clear(), rest_of.clear(), reqs.clear();
      for (size_t s = 0; s < g.slices.size(); ++s)
        rest_of.push_back(s), reqs.push_back({g.slices[s].profile, {}, nullptr});
      placed = mig::Place(*g.gpu.model, {}, reqs);
      if (!placed.ok()) return false;
    }
    for (size_t n = 0; n < kept_of.size(); ++n)
      g.slices[kept_of[n]].start = kept[n].start, g.slices[kept_of[n]].kept = true;
    for (size_t n = 0; n < rest_of.size(); ++n) g.slices[rest_of[n]].start = (*placed)[n].start;
    std::sort(g.slices.begin(), g.slices.end(), [](auto& a, auto& b) { return a.start < b.start; });
  }
  for (auto& s : g.slices)
    for (auto& r : s.replicas) {
      const std::string& e = models[r.model].engine;
      if (e == "vllm" || e == "sglang")
        r.memory_fraction = MemoryFraction(r.memory_mib, s.memory_mib, s.replicas.size() == 1);
    }
  return true;
}

Assignment Assign(const Problem& p, const Solution& s) {
  Assignment out;
  for (const auto& g : p.request->fleet) out.gpus.push_back(PlannedGpu{g, g.model->mig, {}});
  for (size_t i = 0; i < p.request->models.size(); ++i)
    out.left.push_back(p.excluded[i] ? 0 : p.demand[i]);
  for (size_t t = 0; t < p.types.size(); ++t) TypeFiller(p, s, int(t), out).Run();
  return out;
}

}  // namespace carve::plan
