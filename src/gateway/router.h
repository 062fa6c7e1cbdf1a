// Which replica serves a request: by model, least outstanding requests among
// the healthy replicas, with a bounded queue per model when every replica is
// at its in-flight limit.
//
// Thread-safety: every method may be called from any thread. A ModelPool's
// mutable state is guarded by its mutex; a Replica's health and counters are
// atomics read without it. The Router's table is replaced as a whole on
// Update(), and replicas whose (model, url) survive keep their state, so a
// reload does not reset counters or forget which engine is down. No I/O here:
// a queued request is woken through the callback it leaves in its Waiter.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gateway/backend.h"
#include "gateway/errors.h"
#include "gateway/keyed_counts.h"
#include "gateway/metrics.h"
#include "util/mutex.h"

namespace carve::gateway {

// Gateway-originated errors, counted by kind.
using ErrorCounts = std::array<std::atomic<uint64_t>, static_cast<size_t>(ErrorKind::kCount)>;

class Replica {
 public:
  Replica(Backend backend, Endpoint endpoint)
      : backend_(std::move(backend)),
        endpoint_(std::move(endpoint)),
        labels_(JoinLabels(BackendLabels(backend_))) {}
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  const Backend& backend() const { return backend_; }
  const Endpoint& endpoint() const { return endpoint_; }
  // BackendLabels, rendered once: `gpu="0",…,replica="http://…"`.
  const std::string& labels() const { return labels_; }
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  // Taken out of rotation before its engine stops: new requests go elsewhere
  // (or wait), those it serves finish.
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  int outstanding() const { return outstanding_.load(std::memory_order_relaxed); }
  // When a request was last granted a slot here, i.e. sent to it (the epoch
  // when never): carve up unloads the least recently used idle model.
  std::chrono::steady_clock::time_point last_request() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_request_.load(std::memory_order_relaxed)));
  }

  // Per-replica metrics, bumped by the proxy: answers by key and HTTP status.
  KeyedCounts requests;
  Histogram duration;
  Histogram first_byte;
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> tokens{0};  // generated tokens relayed (tokens.h)

  // The engine's own model card (JSON), once the prober has fetched it.
  std::string card() const {
    util::MutexLock lock(card_mu_);
    return card_;
  }
  void set_card(std::string card) {
    util::MutexLock lock(card_mu_);
    card_ = std::move(card);
  }

 private:
  friend class ModelPool;
  mutable util::Mutex card_mu_;
  std::string card_ GUARDED_BY(card_mu_);
  const Backend backend_;
  const Endpoint endpoint_;
  const std::string labels_;
  std::atomic<bool> healthy_{true};  // optimistic until a connect or probe fails
  std::atomic<bool> draining_{false};
  std::atomic<int> outstanding_{0};                              // written under the pool's mutex
  std::atomic<std::chrono::steady_clock::rep> last_request_{0};  // written under the pool's mutex
};

class ModelPool;

// A granted slot on a replica; releases it when destroyed. Move-only.
class Lease {
 public:
  Lease() = default;
  Lease(std::shared_ptr<ModelPool> pool, std::shared_ptr<Replica> replica)
      : pool_(std::move(pool)), replica_(std::move(replica)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease() { Release(); }
  Replica* replica() const { return replica_.get(); }
  explicit operator bool() const { return replica_ != nullptr; }
  void Release();

 private:
  std::shared_ptr<ModelPool> pool_;
  std::shared_ptr<Replica> replica_;
};

// A request waiting for a slot. `wake` is called (without locks held, from
// whichever thread freed the slot) once `granted` is set or the pool gave up.
struct Waiter {
  std::function<void()> wake;
  std::shared_ptr<Replica> granted;  // set with the slot already taken
  bool done = false;                 // granted, or nothing healthy is left
  std::string failure = {};          // set (with done) by FailWaiting: why it was given up
};

struct Limits {
  int max_in_flight = 0;  // per replica; 0 = no limit (the engine queues)
  int max_queue = 256;    // waiting requests per model: for a slot, or for a ready replica
};

class ModelPool : public std::enable_shared_from_this<ModelPool> {
 public:
  enum class Outcome { kGranted, kQueued, kNoHealthy, kQueueFull };
  struct Acquired {
    Outcome outcome;
    Lease lease;  // kGranted
  };

  ModelPool(std::string name, Limits limits) : name_(std::move(name)), limits_(limits) {}
  const std::string& name() const { return name_; }
  KeyedCounts errors;  // gateway-originated errors for this model, by key and ErrorKind
  Limits limits() const {
    util::MutexLock lock(mu_);
    return limits_;
  }

  // A slot on the healthy replica with the fewest outstanding requests, not in
  // `exclude` (replicas already tried for this request). When all are busy and
  // `waiter` is given, it is queued (kQueued) and woken later. So it is when
  // no replica but those excluded is ready (an engine that restarts, a
  // replica on its way): it waits for one to be added or come back, which
  // may be one it tried. The queue holds at most max_queue (kQueueFull).
  Acquired Acquire(std::span<const Replica* const> exclude, Waiter* waiter);
  // Takes a queued waiter out; true if it was still queued (not yet granted).
  bool Cancel(Waiter* waiter);
  // The lease for a waiter that was granted.
  Lease Adopt(Waiter* waiter);

  // Gives up every queued waiter, `reason` in its `failure`, when no replica
  // is ready (an on-demand model whose load failed); waiters for a slot on a
  // ready replica are left to get one. Returns how many were given up.
  // Later requests queue again as usual.
  size_t FailWaiting(const std::string& reason);

  void MarkDown(Replica* r);
  void MarkUp(Replica* r);
  void MarkDraining(Replica* r);
  int queue_depth() const { return queue_depth_.load(std::memory_order_relaxed); }
  std::vector<std::shared_ptr<Replica>> replicas() const;
  bool any_healthy() const;
  // A replica takes new requests: healthy and not draining.
  bool any_ready() const;

  // How long requests that found no ready replica waited for one (a model
  // loading, an engine restarting), whatever ended the wait.
  Histogram replica_wait;

 private:
  friend class Lease;
  friend class Router;
  void Release(Replica* r);
  const std::shared_ptr<Replica>* PickLocked(std::span<const Replica* const> exclude) const
      REQUIRES(mu_);
  // Grants freed slots to queued waiters; returns the wakes to run unlocked.
  std::vector<std::function<void()>> GrantLocked() REQUIRES(mu_);
  std::vector<std::function<void()>> FailAllLocked(const std::string& reason = {}) REQUIRES(mu_);
  bool AnyReadyLocked() const REQUIRES(mu_);
  void GrantTo(Replica& r) REQUIRES(mu_);

  const std::string name_;
  Limits limits_ GUARDED_BY(mu_);
  mutable util::Mutex mu_;
  std::vector<std::shared_ptr<Replica>> replicas_ GUARDED_BY(mu_);
  std::deque<Waiter*> queue_ GUARDED_BY(mu_);
  mutable size_t next_ GUARDED_BY(mu_) = 0;  // tie-break rotation
  std::atomic<int> queue_depth_{0};
};

class Router {
 public:
  // Replaces the table. Replicas with the same (model, url) keep their state.
  // `limits` gives per-model limits; models not in it get `defaults`.
  void Update(const std::vector<std::pair<Backend, Endpoint>>& backends,
              const std::map<std::string, Limits>& limits, Limits defaults);
  std::shared_ptr<ModelPool> Find(const std::string& model) const;
  std::vector<std::shared_ptr<ModelPool>> Pools() const;  // sorted by name

 private:
  mutable util::Mutex mu_;
  std::map<std::string, std::shared_ptr<ModelPool>> pools_ GUARDED_BY(mu_);
};

}  // namespace carve::gateway
