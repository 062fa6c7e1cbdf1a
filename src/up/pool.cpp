#include "up/pool.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace carve::up {

uint64_t FreeMiB(const PoolView& pool, int k) {
  uint64_t used = 0;
  for (const auto& r : pool.residents)
    if (r.slot == k) used += r.memory_mib;
  uint64_t total = pool.slots.at(k).memory_mib;
  return used >= total ? 0 : total - used;
}

namespace {

double SecondsSince(PoolClock::time_point then, PoolClock::time_point now) {
  return std::chrono::duration<double>(now - then).count();
}

bool Evictable(const Resident& r, PoolClock::time_point now) {
  return !r.loading && r.in_flight == 0 && r.keep_warm_s >= 0 &&
         SecondsSince(r.last_used, now) >= static_cast<double>(r.keep_warm_s);
}

}  // namespace

LoadPlan PlanLoad(const PoolView& pool, uint64_t need_mib, PoolClock::time_point now) {
  LoadPlan out;
  const int n = static_cast<int>(pool.slots.size());
  int best = -1;
  for (int k = 0; k < n; ++k)
    if (FreeMiB(pool, k) >= need_mib && (best < 0 || FreeMiB(pool, k) < FreeMiB(pool, best)))
      best = k;
  if (best >= 0) {
    out.slot = best;
    return out;
  }
  if (std::none_of(pool.slots.begin(), pool.slots.end(),
                   [&](const Slot& s) { return s.memory_mib >= need_mib; })) {
    out.wait = fmt::format(
        "it needs {} MiB; the largest slice of pool {} holds {} MiB", need_mib, pool.name,
        n ? std::max_element(
                pool.slots.begin(), pool.slots.end(),
                [](const Slot& a, const Slot& b) { return a.memory_mib < b.memory_mib; })
                ->memory_mib
          : 0);
    return out;
  }
  std::vector<const Resident*> lru;
  for (const auto& r : pool.residents)
    if (Evictable(r, now)) lru.push_back(&r);
  std::stable_sort(lru.begin(), lru.end(), [](const Resident* a, const Resident* b) {
    return a->last_used < b->last_used;
  });
  std::map<int, uint64_t> freed;
  for (const Resident* r : lru) {
    freed[r->slot] += r->memory_mib;
    if (FreeMiB(pool, r->slot) + freed[r->slot] < need_mib) continue;
    out.slot = r->slot;
    for (const Resident* v : lru) {
      if (v->slot == r->slot) out.evict.push_back(v->id);
      if (v == r) break;
    }
    return out;
  }
  // Nothing to evict now: when may something be?
  for (const auto& r : pool.residents) {
    if (r.loading || r.in_flight > 0 || r.keep_warm_s < 0 || Evictable(r, now)) continue;
    double left = static_cast<double>(r.keep_warm_s) - SecondsSince(r.last_used, now);
    if (out.retry_s < 0 || left < out.retry_s) out.retry_s = std::max(0.0, left);
  }
  out.wait = fmt::format(
      "every slice of pool {} is full, and no resident model may be evicted yet (each is loading, "
      "serving, or within its keep_warm)",
      pool.name);
  return out;
}

}  // namespace carve::up
