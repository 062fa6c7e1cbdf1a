#include "plan/construct.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace carve::plan {
namespace {

// What filling one GPU of a type with one layout would place.
struct Filling {
  double gain = 0;                        // demand covered, in each model's best-replica units
  std::vector<std::vector<int>> x, z, v;  // [kind][model or pattern]
};

class Constructor {
 public:
  explicit Constructor(const Problem& p) : p_(p), nm_(p.request->models.size()) {
    for (size_t i = 0; i < nm_; ++i) {
      best_.push_back(BestValue(p, i));
      need_.push_back(p.excluded[i] ? 0 : p.demand[i]);
    }
    for (size_t t = 0; t < p.types.size(); ++t) {
      const GpuType& type = p.types[t];
      free_.push_back(int(type.members.size()));
      std::map<std::string, int> hosts;
      for (int f : type.members) ++hosts[p.request->fleet[f].node];
      host_free_.push_back(std::move(hosts));
      s_.y.emplace_back(type.layouts.size(), 0);
      s_.w.emplace_back(nm_, 0);
      s_.x.emplace_back(type.kinds.size(), std::vector<int>(nm_, 0));
      s_.z.push_back(s_.x.back());
      s_.v.emplace_back();
      for (const auto& patterns : p.patterns[t]) s_.v.back().emplace_back(patterns.size(), 0);
    }
  }

  Solution Run() {
    s_.found = true;
    for (size_t i = 0; i < nm_; ++i) PlaceGroups(i);
    while (Outstanding() && OpenBestGpu()) {
    }
    return std::move(s_);
  }

 private:
  bool Outstanding() const {
    return std::any_of(need_.begin(), need_.end(), [](double n) { return n > 1e-9; });
  }

  // Tensor-parallel replicas of model i, each on the cheapest type (per unit
  // of demand) with a host that has enough free GPUs.
  void PlaceGroups(size_t i) {
    while (need_[i] > 1e-9) {
      int best = -1;
      for (size_t t = 0; t < p_.types.size(); ++t) {
        int k = p_.tp[t][i];
        if (!k || !HostWith(t, k)) continue;
        if (best < 0 || p_.types[t].cost * k < p_.types[best].cost * p_.tp[best][i]) best = int(t);
      }
      if (best < 0) return;
      int k = p_.tp[best][i];
      *HostWith(best, k) -= k;
      free_[best] -= k;
      ++s_.w[best][i];
      need_[i] -= p_.tp_fit[i].value;
    }
  }

  // The free-GPU count of the first host of type t with at least k free; null if none.
  int* HostWith(size_t t, int k) {
    for (auto& [host, free] : host_free_[t])
      if (free >= k) return &free;
    return nullptr;
  }

  // Opens the GPU (type and layout) that covers most demand per unit of cost.
  bool OpenBestGpu() {
    int best_t = -1, best_l = -1;
    Filling best;
    double best_score = 0;
    for (size_t t = 0; t < p_.types.size(); ++t) {
      if (free_[t] <= 0) continue;
      for (size_t l = 0; l < p_.types[t].layouts.size(); ++l) {
        Filling f = Fill(t, l);
        double score = f.gain / p_.types[t].cost;
        if (score > best_score + 1e-12)
          best_score = score, best = std::move(f), best_t = int(t), best_l = int(l);
      }
    }
    if (best_t < 0) return false;
    Take(best_t, best_l, best);
    return true;
  }

  void Take(int t, int l, const Filling& f) {
    --free_[t];
    ++s_.y[t][l];
    for (size_t k = 0; k < f.x.size(); ++k) {
      for (size_t i = 0; i < nm_; ++i) {
        s_.x[t][k][i] += f.x[k][i], s_.z[t][k][i] += f.z[k][i];
        need_[i] -= (f.x[k][i] + f.z[k][i]) * p_.fit[t][k][i].value;
      }
      for (size_t n = 0; n < f.v[k].size(); ++n) s_.v[t][k][n] += f.v[k][n];
    }
  }

  // The kinds of layout l, one entry per slot, largest memory first.
  std::vector<int> Slots(size_t t, size_t l) const {
    const GpuType& type = p_.types[t];
    std::vector<int> slots;
    for (size_t k = 0; k < type.kinds.size(); ++k)
      for (int c = 0; c < type.layouts[l].count[k]; ++c) slots.push_back(int(k));
    std::stable_sort(slots.begin(), slots.end(), [&](int a, int b) {
      return type.kinds[a].memory_mib > type.kinds[b].memory_mib;
    });
    return slots;
  }

  double Gain(const std::vector<double>& left, size_t t, int k, size_t i) const {
    double value = p_.fit[t][k][i].value;
    if (value <= 0 || left[i] <= 1e-9) return 0;
    return std::min(left[i], value) / best_[i];
  }

  Filling Fill(size_t t, size_t l) {
    const GpuType& type = p_.types[t];
    const auto& models = p_.request->models;
    Filling f;
    f.x.assign(type.kinds.size(), std::vector<int>(nm_, 0));
    f.z = f.x;
    for (size_t k = 0; k < type.kinds.size(); ++k) f.v.emplace_back(p_.patterns[t][k].size(), 0);
    std::vector<double> left = need_;
    std::vector<bool> here(nm_, false);  // spread models already on this GPU
    auto allowed = [&](size_t i) { return !(models[i].spread && here[i]); };
    auto place = [&](size_t i, int k, std::vector<std::vector<int>>& counts) {
      f.gain += Gain(left, t, k, i);
      left[i] -= p_.fit[t][k][i].value;
      here[i] = true;
      ++counts[k][i];
    };
    for (int k : Slots(t, l)) {
      // The best single replica: most gain, then the largest model (it has fewest places).
      int single = -1;
      double single_gain = 0;
      for (size_t i = 0; i < nm_; ++i) {
        if (models[i].share || !allowed(i)) continue;
        double g = Gain(left, t, k, i);
        bool tie = single >= 0 && std::abs(g - single_gain) <= 1e-12;
        if (g > single_gain + 1e-12 || (tie && models[i].memory_mib > models[single].memory_mib))
          single = int(i), single_gain = std::max(g, single_gain);
      }
      int pattern = -1;
      double pattern_gain = 0;
      const auto& patterns = p_.patterns[t][k];
      for (size_t n = 0; n < patterns.size(); ++n) {
        double g = 0;
        for (int i : patterns[n])
          if (allowed(i)) g += Gain(left, t, k, i);
        if (g > pattern_gain + 1e-12) pattern = int(n), pattern_gain = g;
      }
      if (pattern >= 0 && pattern_gain > single_gain) {
        ++f.v[k][pattern];
        for (int i : patterns[pattern])
          if (allowed(i) && left[i] > 1e-9) place(i, k, f.z);
      } else if (single >= 0) {
        place(single, k, f.x);
      }
    }
    return f;
  }

  const Problem& p_;
  size_t nm_;
  std::vector<double> best_, need_;                    // [model]
  std::vector<int> free_;                              // [type] GPUs not yet opened
  std::vector<std::map<std::string, int>> host_free_;  // [type] free GPUs per host
  Solution s_;
};

}  // namespace

Solution Construct(const Problem& p) { return Constructor(p).Run(); }

}  // namespace carve::plan
