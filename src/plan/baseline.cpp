#include "plan/baseline.h"

#include <algorithm>
#include <cmath>

namespace carve::plan {
namespace {

// Replicas of model i needed if each one is worth `value`: at most one more
// than the fleet has slices, since each replica here takes a slice of its own.
int ReplicasFor(const Problem& p, size_t i, double value) {
  if (value <= 0) return 0;
  return int(std::min(std::ceil(p.demand[i] / value - 1e-9), double(p.slices) + 1));
}

struct Item {
  size_t model;
  uint64_t memory;  // for ordering: the smallest fitting slice's memory
};

}  // namespace

BaselineResult WholeGpuBaseline(const Problem& p) {
  BaselineResult r{"one replica per whole GPU", 0, 0, true};
  std::vector<int> left;
  for (const auto& t : p.types) left.push_back(int(t.members.size()));
  for (size_t i = 0; i < p.request->models.size(); ++i) {
    if (p.demand[i] <= 0) continue;
    for (int need = -1; need != 0;) {
      // The cheapest type with a free GPU whose largest kind (the whole GPU
      // or 7g) fits; each replica there is worth that kind's value.
      int best = -1;
      double value = 0;
      for (size_t t = 0; t < p.types.size(); ++t) {
        if (!left[t]) continue;
        // The whole GPU serves at least what its best measured slice does.
        double v = 0;
        for (const auto& row : p.fit[t]) v = std::max(v, row[i].value);
        if (v > 0 && (best < 0 || p.types[t].cost < p.types[best].cost)) best = int(t), value = v;
      }
      if (best < 0) {
        r.all_met = false;
        break;
      }
      if (need < 0) need = ReplicasFor(p, i, value);
      if (need == 0) break;
      --left[best], --need, ++r.gpus_used, r.cost += p.costed ? p.types[best].cost : 0;
    }
  }
  return r;
}

BaselineResult FirstFitBaseline(const Problem& p) {
  BaselineResult r{"first-fit decreasing, smallest fitting profile", 0, 0, true};
  // One item per replica, sized on the first GPU type that takes the model.
  std::vector<Item> items;
  for (size_t i = 0; i < p.request->models.size(); ++i) {
    for (size_t t = 0; t < p.types.size() && p.demand[i] > 0; ++t) {
      int smallest = -1;
      for (size_t k = 0; k < p.types[t].kinds.size(); ++k)
        if (p.fit[t][k][i].value > 0 && (smallest < 0 || p.types[t].kinds[k].memory_mib <
                                                             p.types[t].kinds[smallest].memory_mib))
          smallest = int(k);
      if (smallest < 0) continue;
      int n = ReplicasFor(p, i, p.fit[t][smallest][i].value);
      for (int c = 0; c < n; ++c) items.push_back({i, p.types[t].kinds[smallest].memory_mib});
      break;
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.memory > b.memory; });
  std::vector<std::vector<mig::Slice>> layouts(p.request->fleet.size());
  std::vector<bool> open(p.request->fleet.size(), false);
  for (const Item& it : items) {
    bool placed = false;
    for (int pass = 0; pass < 2 && !placed; ++pass) {  // open GPUs first, then new ones
      for (size_t f = 0; f < p.request->fleet.size() && !placed; ++f) {
        if (open[f] != (pass == 0)) continue;
        const mig::GpuModel& gpu = *p.request->fleet[f].model;
        size_t t = p.type_of[f];
        int smallest = -1;
        for (size_t k = 0; k < p.types[t].kinds.size(); ++k)
          if (p.fit[t][k][it.model].value > 0 &&
              (smallest < 0 ||
               p.types[t].kinds[k].memory_mib < p.types[t].kinds[smallest].memory_mib))
            smallest = int(k);
        if (smallest < 0) continue;
        const Kind& kind = p.types[t].kinds[smallest];
        if (!kind.profile) {
          if (open[f]) continue;
          placed = open[f] = true;
          continue;
        }
        auto starts = mig::FreeStarts(gpu, layouts[f], *kind.profile);
        if (starts.empty()) continue;
        layouts[f].push_back(mig::Slice{kind.profile, starts.front()});
        placed = open[f] = true;
      }
    }
    r.all_met = r.all_met && placed;
  }
  for (size_t f = 0; f < open.size(); ++f)
    if (open[f]) ++r.gpus_used, r.cost += p.request->fleet[f].cost_per_month;
  return r;
}

}  // namespace carve::plan
