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

int Overlap(const FleetGpu& g, const GpuType& t, const LayoutCounts& l) {
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
    PlaceShared();
    PlaceRest();
    for (auto& b : bins_) Finish(b);
  }

 private:
  void Fail(int i, const std::string& why) {
    out_.unmet.push_back({p_.request->models[i].name, why});
  }

  void PlaceTensorParallel() {
    for (size_t i = 0; i < p_.request->models.size(); ++i) {
      int k = p_.tp[t_][i];
      for (int r = 0; k && r < s_.w[t_][i]; ++r) {
        std::map<std::string, std::vector<int>> by_node;
        for (int f : free_) by_node[p_.request->fleet[f].node].push_back(f);
        auto it = std::find_if(by_node.begin(), by_node.end(),
                               [&](auto& kv) { return int(kv.second.size()) >= k; });
        if (it == by_node.end()) {
          Fail(int(i), fmt::format("one tensor-parallel replica needs {} whole {} on one host; no "
                                   "host has that many free",
                                   k, type_.model->alias));
          continue;
        }
        const ModelDemand& m = p_.request->models[i];
        for (int n = 0; n < k; ++n) {
          int f = it->second[n];
          PlannedGpu& g = out_.gpus[f];
          g.mig = false;
          PlacedReplica rep{int(i),
                            PerGpuMiB(m.memory_mib, m.overhead_mib, k),
                            m.throughput > 0 ? p_.tp_fit[i].value : 0,
                            0,
                            {},
                            out_.next_tp_group};
          if (p_.tp_fit[i].option >= 0) rep.args = m.options[p_.tp_fit[i].option].args;
          g.slices.push_back(PlannedSlice{nullptr, 0, g.gpu.model->memory_mib, false, {rep}});
          free_.erase(std::find(free_.begin(), free_.end(), f));
        }
        ++out_.next_tp_group;
      }
    }
  }

  void ChooseLayouts() {
    for (size_t l = 0; l < type_.layouts.size(); ++l) {
      for (int c = 0; c < s_.y[t_][l] && !free_.empty(); ++c) {
        auto best = free_.begin();
        int best_overlap = -1;
        for (auto it = free_.begin(); it != free_.end(); ++it) {
          int o = Overlap(p_.request->fleet[*it], type_, type_.layouts[l]);
          if (o > best_overlap) best_overlap = o, best = it;
        }
        bins_.push_back(Bin{*best, type_.layouts[l].count, {}});
        free_.erase(best);
      }
    }
    std::sort(bins_.begin(), bins_.end(),
              [](const Bin& a, const Bin& b) { return a.fleet < b.fleet; });
  }

  PlannedSlice& Open(Bin& b, int k) {
    --b.left[k];
    b.slots.push_back(
        {k, PlannedSlice{type_.kinds[k].profile, 0, type_.kinds[k].memory_mib, false, {}}});
    return b.slots.back().second;
  }

  void PlaceSpread() {
    for (size_t i = 0; i < p_.request->models.size(); ++i) {
      if (!p_.request->models[i].spread || p_.request->models[i].share) continue;
      for (size_t k = 0; k < type_.kinds.size(); ++k) {
        for (int r = 0; r < s_.x[t_][k][i]; ++r) {
          Bin* best = nullptr;
          for (auto& b : bins_)
            if (b.left[k] > 0 && !b.Has(int(i)) && (!best || b.left[k] > best->left[k])) best = &b;
          if (!best) {
            Fail(int(i), "spread: not enough distinct GPUs with a free slice for every replica");
            continue;
          }
          Open(*best, int(k)).replicas.push_back(Replica(p_, t_, int(k), int(i)));
        }
      }
    }
  }

  void PlaceShared() {
    for (size_t k = 0; k < type_.kinds.size(); ++k) {
      std::vector<std::pair<Bin*, size_t>> shared;  // (bin, slot index)
      for (int n = 0, b = 0; n < s_.s[t_][k] && b < int(bins_.size());) {
        if (bins_[b].left[k] > 0) {
          Open(bins_[b], int(k));
          shared.push_back({&bins_[b], bins_[b].slots.size() - 1});
          ++n;
        } else {
          ++b;
        }
      }
      std::vector<int> items;  // share replicas, largest first (first-fit decreasing)
      for (size_t i = 0; i < p_.request->models.size(); ++i)
        for (int r = 0; r < s_.z[t_][k][i]; ++r) items.push_back(int(i));
      std::stable_sort(items.begin(), items.end(), [&](int a, int b) {
        return p_.request->models[a].memory_mib > p_.request->models[b].memory_mib;
      });
      for (int i : items) {
        const ModelDemand& m = p_.request->models[i];
        bool placed = false;
        for (auto& [bin, idx] : shared) {
          PlannedSlice& sl = bin->slots[idx].second;
          bool twice = std::any_of(sl.replicas.begin(), sl.replicas.end(),
                                   [&](auto& r) { return r.model == i; });
          if (twice || sl.used_mib() + m.memory_mib > sl.memory_mib || (m.spread && bin->Has(i)))
            continue;
          sl.replicas.push_back(Replica(p_, t_, int(k), i));
          placed = true;
          break;
        }
        if (!placed)
          Fail(i, fmt::format(
                      "share: the shared {} slices have no room left for another replica (memory)",
                      type_.kinds[k].name));
      }
    }
  }

  void PlaceRest() {
    for (size_t i = 0; i < p_.request->models.size(); ++i) {
      if (p_.request->models[i].spread || p_.request->models[i].share) continue;
      for (size_t k = 0; k < type_.kinds.size(); ++k) {
        int todo = s_.x[t_][k][i];
        for (auto& b : bins_)
          while (todo > 0 && b.left[k] > 0)
            Open(b, int(k)).replicas.push_back(Replica(p_, t_, int(k), int(i))), --todo;
        if (todo > 0)
          Fail(int(i), "internal: the layout counts have fewer slots than the solver assigned");
      }
    }
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
