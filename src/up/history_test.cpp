#include "up/history.h"

#include <gtest/gtest.h>

namespace carve::up {
namespace {

using namespace std::chrono_literals;
using Clock = TrafficHistory::Clock;

gateway::ReplicaCounters Replica(const std::string& model, const std::string& url, uint64_t n,
                                 int in_flight = 0, int queued = 0) {
  gateway::ReplicaCounters c{model, url};
  c.requests = n;
  c.tokens = 2 * n;
  c.duration.assign(gateway::LatencyBoundsSeconds().size() + 1, 0);
  c.first_byte = c.duration;
  c.duration[3] = n;
  c.first_byte[0] = n;
  c.in_flight = in_flight;
  c.queued = queued;
  return c;
}

TEST(TrafficHistory, AveragesOverTheWindowAskedFor) {
  TrafficHistory h;
  const Clock::time_point t0{};
  // 10 req/s for 60 s on one replica, then 30 req/s for 60 s on two, 4 queued.
  for (int s = 0; s <= 60; s += 5)
    h.Add(t0 + std::chrono::seconds(s), {Replica("chat", "a", 10 * s, 1)});
  for (int s = 65; s <= 120; s += 5)
    h.Add(t0 + std::chrono::seconds(s), {Replica("chat", "a", 600 + 15 * (s - 60), 2, 4),
                                         Replica("chat", "b", 15 * (s - 60), 2, 4)});
  auto last_minute = h.Over(60s).at("chat");
  EXPECT_DOUBLE_EQ(last_minute.seconds, 60);
  EXPECT_NEAR(last_minute.requests_per_s, 30, 1e-9);
  EXPECT_NEAR(last_minute.tokens_per_s, 60, 1e-9);
  EXPECT_NEAR(last_minute.in_flight, 4, 1e-9);
  EXPECT_NEAR(last_minute.queued, 4, 1e-9);
  EXPECT_NEAR(last_minute.replicas, 2, 1e-9);
  ASSERT_TRUE(last_minute.latency_ms);
  auto both = h.Over(120s).at("chat");
  EXPECT_NEAR(both.requests_per_s, 20, 1e-9);
  EXPECT_NEAR(both.replicas, 1.5, 1e-9);
  // More than there is: all of it, and says how much.
  EXPECT_DOUBLE_EQ(h.Over(600s).at("chat").seconds, 120);
}

TEST(TrafficHistory, AReplicaThatRestartsCountsFromZero) {
  TrafficHistory h;
  const Clock::time_point t0{};
  h.Add(t0, {Replica("chat", "a", 100)});
  h.Add(t0 + 5s, {Replica("chat", "a", 150)});
  h.Add(t0 + 10s, {Replica("chat", "a", 20)});  // a new engine on the same port
  EXPECT_NEAR(h.Over(10s).at("chat").requests_per_s, (50 + 20) / 10.0, 1e-9);
}

TEST(TrafficHistory, SnapshotsEveryFewSecondsAndRoundTripsThroughJson) {
  TrafficHistory h;
  const Clock::time_point t0{};
  EXPECT_TRUE(h.Add(t0, {Replica("chat", "a", 0)}));
  EXPECT_FALSE(h.Add(t0 + 2s, {Replica("chat", "a", 20)}));
  EXPECT_TRUE(h.Add(t0 + 5s, {Replica("chat", "a", 50)}));
  EXPECT_TRUE(h.Add(t0 + 10s, {Replica("chat", "a", 100, 3)}));
  auto back = TrafficHistory::FromJson(nlohmann::json::parse(h.ToJson().dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  auto a = h.Over(60s).at("chat"), b = back->Over(60s).at("chat");
  EXPECT_DOUBLE_EQ(a.requests_per_s, b.requests_per_s);
  EXPECT_DOUBLE_EQ(a.in_flight, b.in_flight);
  EXPECT_FALSE(TrafficHistory::FromJson(nlohmann::json{{"version", "v9"}}).ok());
}

TEST(TrafficHistory, KeepsFifteenMinutes) {
  TrafficHistory h;
  const Clock::time_point t0{};
  for (int s = 0; s <= 3600; s += 5) h.Add(t0 + std::chrono::seconds(s), {Replica("chat", "a", s)});
  EXPECT_LE(h.ToJson()["snapshots"].size(), 15u * 60 / 5 + 3);
  EXPECT_GE(h.Over(900s).at("chat").seconds, 900);
}

}  // namespace
}  // namespace carve::up
