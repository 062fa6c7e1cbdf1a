#include "plan/problem.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <tuple>

#include "plan/explain.h"
#include "plan/sizing.h"
#include "spec/quantity.h"

namespace carve::plan {
namespace {

bool Plain(const mig::Profile& p) { return p.name.find_first_of("+-") == std::string::npos; }

struct Shapes {
  std::vector<Kind> kinds;
  std::vector<LayoutCounts> layouts;
};

Shapes ComputeShapes(const mig::GpuModel& gpu) {
  Shapes s;
  if (!gpu.mig) {
    s.kinds.push_back(Kind{nullptr, gpu.alias, gpu.memory_mib, 1});
    s.layouts.push_back(LayoutCounts{{1}, {}});
    return s;
  }
  std::map<const mig::Profile*, int> index;
  for (const auto& p : gpu.profiles) {
    if (!Plain(p)) continue;
    index[&p] = int(s.kinds.size());
    s.kinds.push_back(Kind{&p, p.name, p.memory_mib, p.slices});
  }
  std::set<std::vector<int>> seen;
  for (const auto& layout : mig::EnumerateValid(gpu)) {
    bool plain = std::all_of(layout.begin(), layout.end(),
                             [&](const mig::Slice& sl) { return index.count(sl.profile); });
    if (!plain || layout.empty()) continue;
    bool maximal = true;
    for (const auto& [p, i] : index)
      if (!mig::FreeStarts(gpu, layout, *p).empty()) maximal = false;
    if (!maximal) continue;
    std::vector<int> count(s.kinds.size());
    for (const auto& sl : layout) ++count[index[sl.profile]];
    if (seen.insert(count).second) s.layouts.push_back(LayoutCounts{count, layout});
  }
  // A layout whose counts are covered by another's adds nothing.
  std::vector<LayoutCounts> kept;
  for (const auto& a : s.layouts) {
    bool dominated = std::any_of(s.layouts.begin(), s.layouts.end(), [&](const LayoutCounts& b) {
      if (a.count == b.count) return false;
      for (size_t k = 0; k < a.count.size(); ++k)
        if (a.count[k] > b.count[k]) return false;
      return true;
    });
    if (!dominated) kept.push_back(a);
  }
  s.layouts = std::move(kept);
  return s;
}

const Shapes& ShapesOf(const mig::GpuModel& gpu) {
  static std::mutex mu;
  static std::map<const mig::GpuModel*, Shapes> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(&gpu);
  if (it == cache.end()) it = cache.emplace(&gpu, ComputeShapes(gpu)).first;
  return it->second;
}

bool Allowed(const ModelDemand& m, const mig::GpuModel& gpu) {
  return m.gpus.empty() || std::find(m.gpus.begin(), m.gpus.end(), gpu.alias) != m.gpus.end();
}

// Whether option a makes option b pointless: the same profile, at least b's
// throughput and at most its latency (an unmeasured latency compares only
// with another unmeasured one); among equals the earlier row stays.
bool Dominates(const Option& a, size_t ia, const Option& b, size_t ib) {
  if (a.profile != b.profile || a.throughput < b.throughput) return false;
  if ((a.latency_ms == 0) != (b.latency_ms == 0) || a.latency_ms > b.latency_ms) return false;
  bool equal = a.throughput == b.throughput && a.latency_ms == b.latency_ms;
  return !equal || ia < ib;
}

// The best option of `m` for `kind` on `gpu` within the latency SLO, among
// the undominated rows `frontier`; -1 if none.
int BestOption(const ModelDemand& m, const std::vector<int>& frontier, const Kind& kind,
               const mig::GpuModel& gpu) {
  int best = -1;
  for (int o : frontier) {
    const Option& opt = m.options[o];
    bool names = opt.profile == kind.name ||
                 (!kind.profile && (opt.profile == gpu.alias || opt.profile == "whole"));
    if (!names) continue;
    if (m.latency_slo_ms > 0 && opt.latency_ms > m.latency_slo_ms) continue;
    if (best < 0 || opt.throughput > m.options[best].throughput) best = o;
  }
  return best;
}

Fit FitOf(const ModelDemand& m, const std::vector<int>& frontier, const Kind& kind,
          const mig::GpuModel& gpu) {
  if (!Allowed(m, gpu) || m.tensor_parallel > 1) return {};
  if (m.memory_mib > kind.memory_mib) return {};
  if (!m.min_profile.empty() && !MeetsMinProfile(kind, gpu, m.min_profile)) return {};
  if (m.options.empty()) return m.memory_mib ? Fit{1, -1} : Fit{};
  int o = BestOption(m, frontier, kind, gpu);
  if (o < 0) return {};
  return Fit{m.throughput > 0 ? m.options[o].throughput : 1, o};
}

// GPUs per tensor-parallel replica of `m` on type `t`; 0 when it cannot run so.
// A group is of whole GPUs, so each must meet min_profile on its own.
int TensorParallel(const ModelDemand& m, const GpuType& t) {
  if (!Allowed(m, *t.model) || m.tensor_parallel == 1 || t.fixed) return 0;
  Kind whole{nullptr, t.model->alias, t.model->memory_mib, t.model->compute_slices};
  if (!m.min_profile.empty() && !MeetsMinProfile(whole, *t.model, m.min_profile)) return 0;
  int n = int(t.members.size());
  std::vector<int> sizes =
      m.tensor_parallel > 1 ? std::vector<int>{m.tensor_parallel} : std::vector<int>{2, 4, 8};
  for (int k : sizes)
    if (k <= n && PerGpuMiB(m.memory_mib, m.overhead_mib, k) <= t.model->memory_mib) return k;
  return 0;
}

// The type of GPUs like `g`: its model's kinds and maximal layouts, or for a
// fixed GPU its one profile and the one layout it holds.
GpuType TypeOf(const FleetGpu& g, bool costed) {
  GpuType t;
  t.model = g.model;
  t.cost = costed ? g.cost_per_month : 1.0;
  t.fixed = g.fixed;
  if (g.fixed) {
    t.kinds = {Kind{g.fixed, g.fixed->name, g.fixed->memory_mib, g.fixed->slices}};
    t.layouts = {LayoutCounts{{g.fixed_count}, g.current}};
    return t;
  }
  t.kinds = KindsOf(*g.model);
  t.layouts = LayoutsOf(*g.model);
  return t;
}

// Enumerates the maximal sets of `items` (model, MiB; largest first) whose
// memory fits `room`, stopping at kMaxPatterns or a fixed count of steps.
class PatternSearch {
 public:
  PatternSearch(std::vector<std::pair<int, uint64_t>> items, uint64_t room)
      : items_(std::move(items)), room_(room), rest_(items_.size() + 1, 0) {
    for (size_t j = items_.size(); j-- > 0;) rest_[j] = rest_[j + 1] + items_[j].second;
  }

  // False when the search was cut short.
  bool Run() {
    Visit(0, room_);
    return !cut_;
  }
  std::vector<Pattern> patterns;

 private:
  void Visit(size_t j, uint64_t left) {
    if (cut_ || ++steps_ > 200'000 || patterns.size() >= kMaxPatterns) {
      cut_ = true;
      return;
    }
    if (j == items_.size()) return Leaf(left);
    if (items_[j].second <= left) {
      chosen_.push_back(items_[j].first);
      Visit(j + 1, left - items_[j].second);
      chosen_.pop_back();
      // Leaving item j out is maximal only if what follows can still crowd it out.
      if (rest_[j + 1] + items_[j].second <= left) return;
    }
    skipped_.push_back(j);
    Visit(j + 1, left);
    skipped_.pop_back();
  }

  void Leaf(uint64_t left) {
    if (chosen_.empty()) return;
    for (size_t j : skipped_)
      if (items_[j].second <= left) return;  // not maximal
    Pattern p = chosen_;
    std::sort(p.begin(), p.end());
    patterns.push_back(std::move(p));
  }

  std::vector<std::pair<int, uint64_t>> items_;
  uint64_t room_;
  std::vector<uint64_t> rest_;  // memory of items j.. to the end
  std::vector<int> chosen_;
  std::vector<size_t> skipped_;
  size_t steps_ = 0;
  bool cut_ = false;
};

// The options of `m` no other option dominates, in row order.
std::vector<int> Frontier(const ModelDemand& m) {
  std::vector<int> out;
  for (size_t b = 0; b < m.options.size(); ++b) {
    bool dominated = false;
    for (size_t a = 0; a < m.options.size() && !dominated; ++a)
      dominated = a != b && Dominates(m.options[a], a, m.options[b], b);
    if (!dominated) out.push_back(int(b));
  }
  return out;
}

// Shared-slice patterns of every kind of every type, over the share models
// that may be placed there.
void BuildPatterns(Problem& p) {
  const auto& models = p.request->models;
  p.patterns.assign(p.types.size(), {});
  for (size_t t = 0; t < p.types.size(); ++t) {
    p.patterns[t].assign(p.types[t].kinds.size(), {});
    for (size_t k = 0; k < p.types[t].kinds.size(); ++k) {
      std::vector<std::pair<int, uint64_t>> items;
      for (size_t i = 0; i < models.size(); ++i)
        if (models[i].share && p.fit[t][k][i].value > 0 && p.demand[i] > 0 && !p.excluded[i])
          items.push_back({int(i), std::max<uint64_t>(models[i].memory_mib, 1)});
      if (items.empty()) continue;
      std::stable_sort(items.begin(), items.end(),
                       [](auto& a, auto& b) { return a.second > b.second; });
      PatternSearch search(std::move(items), p.types[t].kinds[k].memory_mib);
      if (!search.Run()) p.patterns_cut = true;
      p.patterns[t][k] = std::move(search.patterns);
    }
  }
}

}  // namespace

const std::vector<Kind>& KindsOf(const mig::GpuModel& gpu) { return ShapesOf(gpu).kinds; }
const std::vector<LayoutCounts>& LayoutsOf(const mig::GpuModel& gpu) {
  return ShapesOf(gpu).layouts;
}

double BestValue(const Problem& p, size_t i) {
  double best = p.tp_fit[i].value;
  for (const auto& kinds : p.fit)
    for (const auto& row : kinds) best = std::max(best, row[i].value);
  return best;
}

bool MeetsMinProfile(const Kind& kind, const mig::GpuModel& gpu, const std::string& min_profile) {
  auto min = spec::ParseMinProfile(min_profile);
  if (!min.ok()) return false;  // refused when the spec was parsed
  // At least N compute slices (a whole MIG GPU has its compute_slices, one
  // without MIG counts as having any number) and M GB, as the naming rule
  // rounds (1g.10gb is 9984 MiB, so compare at 953 MiB/GB).
  int compute = kind.profile ? kind.profile->slices : gpu.mig ? gpu.compute_slices : min->compute;
  return compute >= min->compute && kind.memory_mib >= uint64_t(min->gb) * 953;
}

Problem BuildProblem(const PlanRequest& req) {
  Problem p;
  p.request = &req;
  p.total_gpus = int(req.fleet.size());
  for (const auto& g : req.fleet) p.costed = p.costed || g.cost_per_month > 0;
  std::map<std::tuple<const mig::GpuModel*, double, const mig::Profile*, int>, int> type_of;
  for (size_t i = 0; i < req.fleet.size(); ++i) {
    const FleetGpu& g = req.fleet[i];
    auto key = std::make_tuple(g.model, g.cost_per_month, g.fixed, g.fixed_count);
    auto [it, added] = type_of.emplace(key, int(p.types.size()));
    if (added) p.types.push_back(TypeOf(g, p.costed));
    p.types[it->second].members.push_back(int(i));
    p.type_of.push_back(it->second);
  }
  size_t nm = req.models.size();
  for (const auto& t : p.types) {
    int most = 0;
    for (const auto& l : t.layouts)
      most = std::max(most, std::accumulate(l.count.begin(), l.count.end(), 0));
    p.slices += int(t.members.size()) * most;
  }
  for (const auto& m : req.models) {
    // Shared slices hold replicas by memory: at most one per MiB of a GPU.
    double shared = 0;
    for (const auto& t : p.types)
      if (m.share)
        shared += double(t.members.size()) * double(t.model->memory_mib) /
                  double(std::max<uint64_t>(m.memory_mib, 1));
    // Past a billion the bound is no longer exact, but then no plan could be
    // made anyway (each replica is a row of its own), and it keeps ints whole.
    p.most_replicas.push_back(std::min(p.slices + shared + 1, 1e9));
  }
  for (const auto& m : req.models) p.frontier.push_back(Frontier(m));
  p.fit.assign(p.types.size(), {});
  p.tp.assign(p.types.size(), std::vector<int>(nm, 0));
  p.tp_fit.assign(nm, {});
  p.demand.assign(nm, 0);
  p.excluded.assign(nm, false);
  for (size_t t = 0; t < p.types.size(); ++t) {
    const GpuType& type = p.types[t];
    p.fit[t].assign(type.kinds.size(), std::vector<Fit>(nm));
    for (size_t k = 0; k < type.kinds.size(); ++k)
      for (size_t i = 0; i < nm; ++i)
        p.fit[t][k][i] = FitOf(req.models[i], p.frontier[i], type.kinds[k], *type.model);
  }
  for (size_t i = 0; i < nm; ++i) {
    const ModelDemand& m = req.models[i];
    p.demand[i] = m.throughput > 0 ? m.throughput : m.replicas;
    bool fits = false;
    for (size_t t = 0; t < p.types.size(); ++t)
      for (const auto& row : p.fit[t]) fits = fits || row[i].value > 0;
    if (!fits) {
      for (size_t t = 0; t < p.types.size(); ++t) p.tp[t][i] = TensorParallel(m, p.types[t]);
      int o = -1;
      for (size_t t = 0; t < p.types.size() && o < 0; ++t)
        if (p.tp[t][i])
          o = BestOption(m, p.frontier[i], Kind{nullptr, p.types[t].model->alias, 0, 0},
                         *p.types[t].model);
      p.tp_fit[i] = Fit{m.throughput > 0 && o >= 0 ? m.options[o].throughput : 1, o};
      if (m.throughput > 0 && o < 0)
        for (auto& row : p.tp) row[i] = 0;
      for (const auto& row : p.tp) fits = fits || row[i] > 0;
    }
    if (!fits && p.demand[i] > 0) {
      p.excluded[i] = true;
      p.unmet.push_back(Unmet{m.name, WhyNoFit(m, p)});
    }
  }
  BuildPatterns(p);
  return p;
}

}  // namespace carve::plan
