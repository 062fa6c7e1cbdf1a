#include "gateway/router.h"

#include <gtest/gtest.h>

namespace carve::gateway {
namespace {

std::pair<Backend, Endpoint> B(const std::string& model, int port) {
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  return {Backend{model, url, "0", "1g.10gb@" + std::to_string(port)}, *ParseUrl(url)};
}

std::shared_ptr<ModelPool> Pool(Router& router, int replicas, Limits limits = {}) {
  std::vector<std::pair<Backend, Endpoint>> list;
  for (int i = 0; i < replicas; ++i) list.push_back(B("m", 9000 + i));
  router.Update(list, {{"m", limits}}, Limits{});
  return router.Find("m");
}

TEST(Router, LeastOutstandingSpreadsLoad) {
  Router router;
  auto pool = Pool(router, 3);
  std::vector<Lease> held;
  for (int i = 0; i < 6; ++i) held.push_back(std::move(pool->Acquire({}, nullptr).lease));
  for (const auto& r : pool->replicas()) EXPECT_EQ(r->outstanding(), 2);
  const Replica* first = held[0].replica();
  held[0].Release();
  // The one with a free slot is now strictly least loaded and must be chosen.
  auto next = pool->Acquire({}, nullptr);
  EXPECT_EQ(next.lease.replica(), first);
}

TEST(Router, TiesRotateSoIdleTrafficSpreads) {
  Router router;
  auto pool = Pool(router, 2);
  std::set<const Replica*> seen;
  for (int i = 0; i < 4; ++i) seen.insert(pool->Acquire({}, nullptr).lease.replica());
  EXPECT_EQ(seen.size(), 2u);
}

TEST(Router, UnhealthyAndExcludedReplicasAreSkipped) {
  Router router;
  auto pool = Pool(router, 2);
  auto rs = pool->replicas();
  pool->MarkDown(rs[0].get());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(pool->Acquire({}, nullptr).lease.replica(), rs[1].get());
  const Replica* tried[] = {rs[1].get()};
  auto none = pool->Acquire(tried, nullptr);
  EXPECT_EQ(none.outcome, ModelPool::Outcome::kNoHealthy);
  pool->MarkUp(rs[0].get());
  EXPECT_EQ(pool->Acquire(tried, nullptr).lease.replica(), rs[0].get());
}

TEST(Router, QueueGrantsFreedSlotAndWakes) {
  Router router;
  auto pool = Pool(router, 1, Limits{1, 1});
  auto first = pool->Acquire({}, nullptr);
  ASSERT_EQ(first.outcome, ModelPool::Outcome::kGranted);
  int woken = 0;
  Waiter w;
  w.wake = [&] { ++woken; };
  EXPECT_EQ(pool->Acquire({}, &w).outcome, ModelPool::Outcome::kQueued);
  EXPECT_EQ(pool->queue_depth(), 1);
  Waiter w2;
  EXPECT_EQ(pool->Acquire({}, &w2).outcome, ModelPool::Outcome::kQueueFull);
  first.lease.Release();
  EXPECT_EQ(woken, 1);
  EXPECT_TRUE(w.done);
  EXPECT_FALSE(pool->Cancel(&w));  // already granted: adopt instead
  Lease adopted = pool->Adopt(&w);
  ASSERT_TRUE(adopted);
  EXPECT_EQ(adopted.replica()->outstanding(), 1);
  EXPECT_EQ(pool->queue_depth(), 0);
}

TEST(Router, CancelRemovesAQueuedWaiter) {
  Router router;
  auto pool = Pool(router, 1, Limits{1, 4});
  auto first = pool->Acquire({}, nullptr);
  Waiter w;
  w.wake = [] {};
  ASSERT_EQ(pool->Acquire({}, &w).outcome, ModelPool::Outcome::kQueued);
  EXPECT_TRUE(pool->Cancel(&w));
  first.lease.Release();
  EXPECT_FALSE(w.done);
  EXPECT_EQ(pool->replicas()[0]->outstanding(), 0);
}

TEST(Router, LastReplicaDownKeepsQueuedWaitersWaitingForItsReturn) {
  Router router;
  auto pool = Pool(router, 1, Limits{1, 4});
  auto first = pool->Acquire({}, nullptr);
  bool woken = false;
  Waiter w;
  w.wake = [&] { woken = true; };
  ASSERT_EQ(pool->Acquire({}, &w).outcome, ModelPool::Outcome::kQueued);
  Replica* only = pool->replicas()[0].get();
  pool->MarkDown(only);
  EXPECT_FALSE(woken);  // no failure at once: the engine may come back
  first.lease.Release();
  EXPECT_FALSE(woken);  // a freed slot on a replica that is down grants nothing
  pool->MarkUp(only);
  EXPECT_TRUE(woken);
  EXPECT_TRUE(pool->Adopt(&w));
}

TEST(Router, ARequestWaitsForAReadyReplica) {
  Router router;
  router.Update({}, {{"m", Limits{}}}, Limits{});  // a model whose engine is starting
  auto pool = router.Find("m");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->Acquire({}, nullptr).outcome, ModelPool::Outcome::kNoHealthy);
  bool woken = false;
  Waiter w;
  w.wake = [&] { woken = true; };
  ASSERT_EQ(pool->Acquire({}, &w).outcome, ModelPool::Outcome::kQueued);
  EXPECT_EQ(pool->queue_depth(), 1);
  // The replica becomes ready: the waiter gets its slot.
  router.Update({B("m", 9000)}, {{"m", Limits{}}}, Limits{});
  EXPECT_TRUE(woken);
  Lease lease = pool->Adopt(&w);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease.replica()->backend().url, "http://127.0.0.1:9000");
  // A retry (it tried the only replica, which failed) waits for it to come back.
  const Replica* tried[] = {lease.replica()};
  pool->MarkDown(lease.replica());
  bool retried = false;
  Waiter w2;
  w2.wake = [&] { retried = true; };
  EXPECT_EQ(pool->Acquire(tried, nullptr).outcome, ModelPool::Outcome::kNoHealthy);
  ASSERT_EQ(pool->Acquire(tried, &w2).outcome, ModelPool::Outcome::kQueued);
  pool->MarkUp(lease.replica());
  EXPECT_TRUE(retried);
  EXPECT_TRUE(pool->Adopt(&w2));
  // The wait is bounded by the queue like any other.
  router.Update({}, {{"m", Limits{0, 1}}}, Limits{});
  Waiter a, b;
  a.wake = b.wake = [] {};
  EXPECT_EQ(pool->Acquire({}, &a).outcome, ModelPool::Outcome::kQueued);
  EXPECT_EQ(pool->Acquire({}, &b).outcome, ModelPool::Outcome::kQueueFull);
  EXPECT_TRUE(pool->Cancel(&a));
}

TEST(Router, ADrainingReplicaFinishesItsWorkAndGetsNoMore) {
  Router router;
  auto pool = Pool(router, 2);
  auto rs = pool->replicas();
  auto held = pool->Acquire({}, nullptr);
  Replica* old = held.lease.replica();
  pool->MarkDraining(old);
  for (int i = 0; i < 4; ++i) EXPECT_NE(pool->Acquire({}, nullptr).lease.replica(), old);
  EXPECT_EQ(old->outstanding(), 1);  // its own request is still its own
  held.lease.Release();
  EXPECT_EQ(old->outstanding(), 0);
  // The last one draining: requests wait (for its successor), not on it.
  Replica* other = rs[0].get() == old ? rs[1].get() : rs[0].get();
  pool->MarkDraining(other);
  EXPECT_EQ(pool->Acquire({}, nullptr).outcome, ModelPool::Outcome::kNoHealthy);
}

TEST(Router, ARemovedModelFailsItsWaiters) {
  Router router;
  router.Update({}, {{"m", Limits{}}}, Limits{});
  auto pool = router.Find("m");
  bool woken = false;
  Waiter w;
  w.wake = [&] { woken = true; };
  ASSERT_EQ(pool->Acquire({}, &w).outcome, ModelPool::Outcome::kQueued);
  router.Update({}, {}, Limits{});
  EXPECT_TRUE(woken);
  EXPECT_TRUE(w.done);
  EXPECT_FALSE(pool->Adopt(&w));
}

TEST(Router, UpdateKeepsStateOfSurvivingReplicas) {
  Router router;
  auto pool = Pool(router, 2);
  auto rs = pool->replicas();
  pool->MarkDown(rs[1].get());
  auto lease = pool->Acquire({}, nullptr);
  router.Update({B("m", 9001), B("m", 9002), B("other", 9100)}, {}, Limits{});
  auto after = router.Find("m");
  EXPECT_EQ(after, pool);  // same pool object: queued requests stay queued
  auto now = after->replicas();
  ASSERT_EQ(now.size(), 2u);
  EXPECT_EQ(now[0], rs[1]);  // same object, still down
  EXPECT_FALSE(now[0]->healthy());
  EXPECT_NE(router.Find("other"), nullptr);
  lease.lease.Release();  // released into the replica that left: no crash, count back to 0
  EXPECT_EQ(rs[0]->outstanding(), 0);
}

TEST(Router, RemovedModelIsGone) {
  Router router;
  Pool(router, 1);
  router.Update({}, {}, Limits{});
  EXPECT_EQ(router.Find("m"), nullptr);
  EXPECT_TRUE(router.Pools().empty());
}

// Issue #16: a failed load answers the requests held for the model at once.
TEST(Router, FailWaitingGivesUpHeldRequestsWithTheReason) {
  Router router;
  router.Update({}, {{"chat", Limits{}}}, Limits{});  // on-demand, cold
  auto pool = router.Find("chat");
  int woken = 0;
  Waiter a, b;
  a.wake = b.wake = [&] { ++woken; };
  ASSERT_EQ(pool->Acquire({}, &a).outcome, ModelPool::Outcome::kQueued);
  ASSERT_EQ(pool->Acquire({}, &b).outcome, ModelPool::Outcome::kQueued);
  EXPECT_EQ(pool->FailWaiting("chat could not be loaded: its engine exited (exit 1)"), 2u);
  EXPECT_EQ(woken, 2);
  EXPECT_TRUE(a.done);
  EXPECT_EQ(b.failure, "chat could not be loaded: its engine exited (exit 1)");
  EXPECT_FALSE(pool->Adopt(&a));
  EXPECT_EQ(pool->queue_depth(), 0);
  // The next request waits again, for the next load, which works this time.
  Waiter c;
  c.wake = [&] { ++woken; };
  ASSERT_EQ(pool->Acquire({}, &c).outcome, ModelPool::Outcome::kQueued);
  router.Update({B("chat", 9000)}, {{"chat", Limits{}}}, Limits{});
  EXPECT_TRUE(pool->Adopt(&c));
  EXPECT_TRUE(c.failure.empty());
}

TEST(Router, FailWaitingLeavesRequestsThatWaitForASlotOnAReadyReplica) {
  Router router;
  auto pool = Pool(router, 1, Limits{1, 4});
  auto first = pool->Acquire({}, nullptr);
  Waiter w;
  w.wake = [] {};
  ASSERT_EQ(pool->Acquire({}, &w).outcome, ModelPool::Outcome::kQueued);
  EXPECT_EQ(pool->FailWaiting("load failed"), 0u);
  EXPECT_FALSE(w.done);
  first.lease.Release();
  EXPECT_TRUE(pool->Adopt(&w));
}

TEST(Router, AGrantedSlotAdvancesTheReplicasLastRequest) {
  Router router;
  auto pool = Pool(router, 1, Limits{1, 4});
  Replica* r = pool->replicas()[0].get();
  EXPECT_EQ(r->last_request(), std::chrono::steady_clock::time_point{});  // never used
  auto before = std::chrono::steady_clock::now();
  auto first = pool->Acquire({}, nullptr);
  auto granted = r->last_request();
  EXPECT_GE(granted, before);
  // A queued request granted later advances it again (the clock is monotonic).
  Waiter w;
  w.wake = [] {};
  ASSERT_EQ(pool->Acquire({}, &w).outcome, ModelPool::Outcome::kQueued);
  auto released = std::chrono::steady_clock::now();
  first.lease.Release();
  ASSERT_TRUE(w.done);
  EXPECT_GE(r->last_request(), released);
  EXPECT_GE(r->last_request(), granted);
}

TEST(ParseUrl, AcceptsHostPortRefusesOthers) {
  auto e = ParseUrl("http://localhost:8001/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "localhost");
  EXPECT_EQ(e->port, 8001);
  EXPECT_EQ(ParseUrl("http://h")->port, 80);
  EXPECT_FALSE(ParseUrl("https://h:1").ok());
  EXPECT_FALSE(ParseUrl("http://h:0").ok());
  EXPECT_FALSE(ParseUrl("http://h:99999").ok());
  EXPECT_FALSE(ParseUrl("http://:80").ok());
  EXPECT_FALSE(ParseUrl("http://h:1/v1").ok());
}

}  // namespace
}  // namespace carve::gateway
