// Private to the gateway: what its workers share (the router, counters, the
// current config and keys), and the snapshot a reload replaces as a whole.
// Thread-safe: atomics, or `mu` held briefly.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "gateway/access_log.h"
#include "gateway/config.h"
#include "gateway/errors.h"
#include "gateway/keys.h"
#include "gateway/router.h"
#include "gateway/wire.h"
#include "gateway/worker.h"
#include "util/mutex.h"

namespace carve::gateway::net {

// What a reload replaces as a whole; sessions hold the one they started with.
struct Snapshot {
  GatewayConfig config;
  KeyRing keys;
};

struct GatewayState {
  // Request bodies in flight may hold this much memory together: eight of the
  // largest allowed, at least 64 MiB (fixed at start; a reload keeps it).
  static uint64_t BodyBudgetFor(const GatewayConfig& config) {
    return std::max<uint64_t>(8 * config.max_body_bytes, 64ull << 20);
  }
  explicit GatewayState(std::shared_ptr<const Snapshot> snapshot)
      : bodies(BodyBudgetFor(snapshot->config)), snapshot_(std::move(snapshot)) {}
  std::shared_ptr<const Snapshot> snapshot() const {
    util::MutexLock lock(mu);
    return snapshot_;
  }
  void set_snapshot(std::shared_ptr<const Snapshot> snapshot) {
    util::MutexLock lock(mu);
    snapshot_ = std::move(snapshot);
    snapshot_version.fetch_add(1, std::memory_order_release);
  }
  // Counts an error by model and key (tag 0: no key); before a model is
  // known, by kind alone.
  void CountError(ModelPool* pool, ErrorKind kind, uint64_t key_tag = 0) {
    if (pool)
      pool->errors.Add(key_tag, static_cast<uint32_t>(kind));
    else
      unrouted_errors[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }

  Router router;
  std::unique_ptr<AccessLog> log;
  ErrorCounts unrouted_errors{};  // errors before a model was known
  std::atomic<int> connections{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> cutting{false};  // the drain ran out: exchanges still running are ended
  std::atomic<int> busy{0};          // requests read and not yet answered
  wire::BodyBudget bodies;
  std::atomic<bool> probed_once{false};
  std::atomic<uint64_t> snapshot_version{1};  // bumped by every set_snapshot
  std::function<std::string()> extra_metrics GUARDED_BY(mu);
  // carve up's status as JSON, for the dashboard; `has_status` says it is set
  // without taking the lock on every request.
  std::function<std::string()> status_source GUARDED_BY(mu);
  std::atomic<bool> has_status{false};
  // carve up's on-demand models: told of requests that wait for a replica,
  // and their state by name ("cold", "loading") for /v1/models.
  std::shared_ptr<const std::function<void(const std::string&)>> demand GUARDED_BY(mu);
  std::shared_ptr<const std::map<std::string, std::string>> model_states GUARDED_BY(mu) =
      std::make_shared<const std::map<std::string, std::string>>();
  // Tells carve up a request of `model` found no ready replica; the handler
  // runs without the lock, so it may call the gateway back.
  void NoteDemand(const std::string& model) {
    std::shared_ptr<const std::function<void(const std::string&)>> fn;
    {
      util::MutexLock lock(mu);
      fn = demand;
    }
    if (fn && *fn) (*fn)(model);
  }
  std::shared_ptr<const std::map<std::string, std::string>> states() const {
    util::MutexLock lock(mu);
    return model_states;
  }
  bool on_demand(const std::string& model) const { return states()->count(model) > 0; }
  const int64_t started_unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  mutable util::Mutex mu;

 private:
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu);
};

// The current snapshot, as seen from a worker's thread: a lock only when a
// reload has replaced it since the worker last looked, not once per request.
inline const std::shared_ptr<const Snapshot>& CurrentSnapshot(GatewayState& state, Worker& worker) {
  uint64_t v = state.snapshot_version.load(std::memory_order_acquire);
  if (v != worker.snapshot_version) {
    worker.snapshot = state.snapshot();
    worker.snapshot_version = v;
  }
  return worker.snapshot;
}

}  // namespace carve::gateway::net
