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
    PlaceRest();
    PlaceShared();
    for (auto& b : bins_) Finish(b);
  }

 private:
  const ModelDemand& Model(int i) const { return p_.request->models[i]; }
  int Models() const { return int(p_.request->models.size()); }

  void Fail(int i, const std::string& why) { out_.unmet.push_back({Model(i).name, why}); }

  // Larger groups first, so smaller ones do not break up the hosts they need.
  void PlaceTensorParallel() {
    std::vector<int> order;
    for (int i = 0; i < Models(); ++i)
      if (p_.tp[t_][i]) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return p_.tp[t_][a] > p_.tp[t_][b]; });
    for (int i : order)
      for (int r = 0; r < s_.w[t_][i]; ++r) PlaceGroup(i, p_.tp[t_][i]);
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
        for (int r = 0; r < s_.x[t_][k][i]; ++r) PlaceSpreadReplica(i, k);
    }
  }

  void PlaceSpreadReplica(int i, int k) {
    Bin* best = nullptr;
    for (auto& b : bins_)
      if (b.left[k] > 0 && !b.Has(i) && (!best || b.left[k] > best->left[k])) best = &b;
    if (!best)
      return Fail(i, "spread: not enough distinct GPUs with a free slice for every replica");
    Open(*best, k).replicas.push_back(Replica(p_, t_, k, i));
  }

  void PlaceRest() {
    for (int i = 0; i < Models(); ++i) {
      if (Model(i).spread || Model(i).share) continue;
      for (int k = 0; k < int(type_.kinds.size()); ++k) {
        int todo = s_.x[t_][k][i];
        for (auto& b : bins_)
          while (todo > 0 && b.left[k] > 0)
            Open(b, k).replicas.push_back(Replica(p_, t_, k, i)), --todo;
        if (todo > 0)
          Fail(i, "internal: the layout counts have fewer slots than the solver assigned");
      }
    }
  }

  // Shared slices of each kind, filled first-fit decreasing by memory.
  void PlaceShared() {
    for (int k = 0; k < int(type_.kinds.size()); ++k) {
      shared_.clear();
      for (int n = s_.s[t_][k]; n > 0 && OpenShared(k);) --n;
      for (int i : SharedItems(k))
        if (!PutShared(i, k) && !(OpenShared(k) && PutShared(i, k)))
          Fail(i, fmt::format("share: the shared {} slices have no room left for another "
                              "replica (memory)",
                              type_.kinds[k].name));
    }
  }

  // Opens one more shared slice of kind k where a GPU's layout has room.
  bool OpenShared(int k) {
    for (auto& b : bins_)
      if (b.left[k] > 0) {
        Open(b, k);
        shared_.push_back({&b, b.slots.size() - 1});
        return true;
      }
    return false;
  }

  std::vector<int> SharedItems(int k) const {
    std::vector<int> items;
    for (int i = 0; i < Models(); ++i)
      for (int r = 0; r < s_.z[t_][k][i]; ++r) items.push_back(i);
    std::stable_sort(items.begin(), items.end(),
                     [&](int a, int b) { return Model(a).memory_mib > Model(b).memory_mib; });
    return items;
  }

  // First shared slice with room for one more replica of model i.
  bool PutShared(int i, int k) {
    const ModelDemand& m = Model(i);
    for (auto& [bin, idx] : shared_) {
      PlannedSlice& sl = bin->slots[idx].second;
      bool twice = std::any_of(sl.replicas.begin(), sl.replicas.end(),
                               [&](auto& r) { return r.model == i; });
      if (twice || sl.used_mib() + m.memory_mib > sl.memory_mib || (m.spread && bin->Has(i)))
        continue;
      sl.replicas.push_back(Replica(p_, t_, k, i));
      return true;
    }
    return false;
  }

  // Moves replicas of replica-demand models to the smallest kind that still
  // holds them, when the GPU's layout stays valid: stranded memory back to free.
  void Shrink(Bin& b) {
    for (auto& [k, slice] : b.slots) {
      for (size_t k2 = 0; k2 < type_.kinds.size(); ++k2) {
        const Kind& cand = type_.kinds[k2];
        if (cand.memory_mib >= type_.kinds[k].memory_mib || !cand.profile) continue;
        bool ok = slice.used_mib() <= cand.memory_mib;
        for (const auto& r : slice.replicas)
          ok = ok && p_.request->models[r.model].throughput == 0 &&
               p_.fit[t_][k2][r.model].value > 0;
        if (!ok) continue;
        std::vector<mig::SliceRequest> reqs;
        for (const auto& [kk, s] : b.slots)
          reqs.push_back({&s == &slice ? cand.profile : s.profile, {}, nullptr});
        if (!mig::Place(*type_.model, {}, reqs).ok()) continue;
        k = int(k2), slice.profile = cand.profile, slice.memory_mib = cand.memory_mib;
      }
    }
  }

  void Finish(Bin& b) {
    PlannedGpu& g = out_.gpus[b.fleet];
    std::erase_if(b.slots, [](const auto& ks) { return ks.second.replicas.empty(); });
    if (b.slots.empty()) return;
    if (type_.model->mig) Shrink(b);
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
  std::vector<std::pair<Bin*, size_t>> shared_;  // (GPU, slot) of the kind being shared
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
  for (size_t t = 0; t < p.types.size(); ++t) TypeFiller(p, s, int(t), out).Run();
  return out;
}

}  // namespace carve::plan
