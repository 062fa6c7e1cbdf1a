#include "gateway/router.h"

#include <algorithm>
#include <set>

namespace carve::gateway {

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::move(other.pool_);
    replica_ = std::move(other.replica_);
  }
  return *this;
}

void Lease::Release() {
  if (pool_ && replica_) pool_->Release(replica_.get());
  pool_.reset();
  replica_.reset();
}

namespace {
void RunAll(const std::vector<std::function<void()>>& wakes) {
  for (const auto& w : wakes) w();
}
}  // namespace

const std::shared_ptr<Replica>* ModelPool::PickLocked(
    std::span<const Replica* const> exclude) const {
  const std::shared_ptr<Replica>* best = nullptr;
  const size_t n = replicas_.size();
  const size_t start = n ? next_++ % n : 0;
  for (size_t k = 0; k < n; ++k) {
    const auto& r = replicas_[(start + k) % n];
    if (!r->healthy() || r->draining()) continue;
    if (std::find(exclude.begin(), exclude.end(), r.get()) != exclude.end()) continue;
    if (limits_.max_in_flight > 0 && r->outstanding() >= limits_.max_in_flight) continue;
    if (!best || r->outstanding() < (*best)->outstanding()) best = &r;
  }
  return best;
}

ModelPool::Acquired ModelPool::Acquire(std::span<const Replica* const> exclude, Waiter* waiter) {
  util::MutexLock lock(mu_);
  if (const auto* r = PickLocked(exclude)) {
    GrantTo(**r);
    return {Outcome::kGranted, Lease(shared_from_this(), *r)};
  }
  bool any_candidate = std::any_of(replicas_.begin(), replicas_.end(), [&](const auto& r) {
    return r->healthy() && !r->draining() &&
           std::find(exclude.begin(), exclude.end(), r.get()) == exclude.end();
  });
  if (!any_candidate && !waiter) return {Outcome::kNoHealthy, {}};
  if (!waiter || static_cast<int>(queue_.size()) >= limits_.max_queue)
    return {Outcome::kQueueFull, {}};
  queue_.push_back(waiter);
  queue_depth_.store(static_cast<int>(queue_.size()), std::memory_order_relaxed);
  return {Outcome::kQueued, {}};
}

bool ModelPool::Cancel(Waiter* waiter) {
  util::MutexLock lock(mu_);
  auto it = std::find(queue_.begin(), queue_.end(), waiter);
  if (it == queue_.end()) return false;
  queue_.erase(it);
  queue_depth_.store(static_cast<int>(queue_.size()), std::memory_order_relaxed);
  return true;
}

Lease ModelPool::Adopt(Waiter* waiter) {
  if (!waiter->granted) return {};
  return Lease(shared_from_this(), std::move(waiter->granted));
}

std::vector<std::function<void()>> ModelPool::GrantLocked() {
  std::vector<std::function<void()>> wakes;
  while (!queue_.empty()) {
    const auto* r = PickLocked({});
    if (!r) break;
    Waiter* w = queue_.front();
    queue_.pop_front();
    GrantTo(**r);
    w->granted = *r;
    w->done = true;
    wakes.push_back(w->wake);
  }
  queue_depth_.store(static_cast<int>(queue_.size()), std::memory_order_relaxed);
  return wakes;
}

void ModelPool::GrantTo(Replica& r) {
  r.outstanding_.fetch_add(1, std::memory_order_relaxed);
  r.last_request_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                        std::memory_order_relaxed);
}

std::vector<std::function<void()>> ModelPool::FailAllLocked(const std::string& reason) {
  std::vector<std::function<void()>> wakes;
  for (Waiter* w : queue_) {
    w->done = true;
    w->failure = reason;
    wakes.push_back(w->wake);
  }
  queue_.clear();
  queue_depth_.store(0, std::memory_order_relaxed);
  return wakes;
}

size_t ModelPool::FailWaiting(const std::string& reason) {
  std::vector<std::function<void()>> wakes;
  {
    util::MutexLock lock(mu_);
    if (AnyReadyLocked()) return 0;
    wakes = FailAllLocked(reason);
  }
  RunAll(wakes);
  return wakes.size();
}

void ModelPool::Release(Replica* r) {
  std::vector<std::function<void()>> wakes;
  {
    util::MutexLock lock(mu_);
    r->outstanding_.fetch_sub(1, std::memory_order_relaxed);
    wakes = GrantLocked();
  }
  RunAll(wakes);
}

void ModelPool::MarkDown(Replica* r) {
  // Queued requests keep waiting: for another replica's slot, for this one to
  // come back, or until their deadline.
  util::MutexLock lock(mu_);
  r->healthy_.store(false, std::memory_order_relaxed);
}

void ModelPool::MarkDraining(Replica* r) {
  util::MutexLock lock(mu_);
  r->draining_.store(true, std::memory_order_relaxed);
}

void ModelPool::MarkUp(Replica* r) {
  std::vector<std::function<void()>> wakes;
  {
    util::MutexLock lock(mu_);
    r->healthy_.store(true, std::memory_order_relaxed);
    wakes = GrantLocked();
  }
  RunAll(wakes);
}

std::vector<std::shared_ptr<Replica>> ModelPool::replicas() const {
  util::MutexLock lock(mu_);
  return replicas_;
}

bool ModelPool::any_healthy() const {
  util::MutexLock lock(mu_);
  return std::any_of(replicas_.begin(), replicas_.end(),
                     [](const auto& r) { return r->healthy(); });
}

bool ModelPool::AnyReadyLocked() const {
  return std::any_of(replicas_.begin(), replicas_.end(),
                     [](const auto& r) { return r->healthy() && !r->draining(); });
}

bool ModelPool::any_ready() const {
  util::MutexLock lock(mu_);
  return AnyReadyLocked();
}

void Router::Update(const std::vector<std::pair<Backend, Endpoint>>& backends,
                    const std::map<std::string, Limits>& limits, Limits defaults) {
  std::map<std::string, std::vector<std::pair<Backend, Endpoint>>> by_model;
  for (const auto& [name, lim] : limits) by_model[name];  // a model with no replica stays
  for (const auto& b : backends) by_model[b.first.model].push_back(b);
  std::vector<std::function<void()>> wakes;
  util::MutexLock lock(mu_);
  std::map<std::string, std::shared_ptr<ModelPool>> next;
  for (auto& [name, list] : by_model) {
    auto it = pools_.find(name);
    auto lim = limits.count(name) ? limits.at(name) : defaults;
    auto pool = it != pools_.end() ? it->second : std::make_shared<ModelPool>(name, lim);
    util::MutexLock pool_lock(pool->mu_);
    std::vector<std::shared_ptr<Replica>> replicas;
    for (const auto& entry : list) {
      const Backend& backend = entry.first;  // named: a lambda may not capture a binding
      auto old = std::find_if(pool->replicas_.begin(), pool->replicas_.end(),
                              [&](const auto& r) { return r->backend().url == backend.url; });
      bool same = old != pool->replicas_.end() && (*old)->backend() == backend;
      replicas.push_back(same ? *old : std::make_shared<Replica>(backend, entry.second));
    }
    pool->replicas_ = std::move(replicas);
    pool->limits_ = lim;
    auto w = pool->GrantLocked();
    wakes.insert(wakes.end(), w.begin(), w.end());
    next.emplace(name, pool);
  }
  for (auto& [name, pool] : pools_) {
    if (next.count(name)) continue;
    util::MutexLock pool_lock(pool->mu_);
    pool->replicas_.clear();
    auto w = pool->FailAllLocked();
    wakes.insert(wakes.end(), w.begin(), w.end());
  }
  pools_ = std::move(next);
  RunAll(wakes);
}

std::shared_ptr<ModelPool> Router::Find(const std::string& model) const {
  util::MutexLock lock(mu_);
  auto it = pools_.find(model);
  return it == pools_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<ModelPool>> Router::Pools() const {
  util::MutexLock lock(mu_);
  std::vector<std::shared_ptr<ModelPool>> out;
  for (const auto& [name, pool] : pools_) out.push_back(pool);
  return out;
}

}  // namespace carve::gateway
