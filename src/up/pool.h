// On-demand models in pools (docs/pools.md): which pool slice a cold model
// loads on, and which idle resident models make room for it. Pure: the
// service (service_pool.cpp) feeds it what runs and what the gateway counted.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "up/desired.h"

namespace carve::up {

using PoolClock = std::chrono::steady_clock;

// A resident (or loading) on-demand model: one engine on a pool slice.
struct Resident {
  std::string id;  // its replica
  std::string model;
  int slot = -1;  // index into its pool's slots
  uint64_t memory_mib = 0;
  bool loading = false;  // started, not ready yet
  int in_flight = 0;     // requests it serves now (never evicted while > 0)
  PoolClock::time_point last_used = {};
  int64_t keep_warm_s = 300;  // -1: forever (never evicted once loaded)
};

struct PoolView {
  std::string name;
  std::vector<Slot> slots;  // slot.memory_mib: the slice's memory
  std::vector<Resident> residents;
};

// Where a model needing `need_mib` loads now, and who goes first.
struct LoadPlan {
  int slot = -1;                   // -1: not now (`wait` says why)
  std::vector<std::string> evict;  // resident replica ids to drain and stop first
  std::string wait;
  // When `slot` is -1 and waiting may help: seconds until the first resident's
  // keep_warm passes (-1: none will by time alone, e.g. all in use or forever).
  double retry_s = -1;
};

// Memory of slot `k` not taken by residents (loading ones included).
uint64_t FreeMiB(const PoolView& pool, int k);

// A slot with room (the fullest that fits, so large holes stay for large
// models); else, walking the evictable residents (idle, not loading, past
// keep_warm) from the least recently used, the first slot where those
// walked so far free enough: they are evicted. Else why not, and when to retry.
LoadPlan PlanLoad(const PoolView& pool, uint64_t need_mib, PoolClock::time_point now);

}  // namespace carve::up
