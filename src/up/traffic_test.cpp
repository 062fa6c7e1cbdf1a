#include "up/traffic.h"

#include <gtest/gtest.h>

namespace carve::up {
namespace {

using namespace std::chrono_literals;
using Clock = TrafficWindow::Clock;

// A replica's counters with `n` answers, all in the bucket whose upper bound
// is `bound_index` (Histogram::kBounds), `tokens` generated.
gateway::ReplicaCounters Replica(std::string model, std::string url, uint64_t n, size_t bound_index,
                                 uint64_t tokens = 0) {
  gateway::ReplicaCounters c{std::move(model), std::move(url)};
  c.requests = n;
  c.tokens = tokens;
  c.duration.assign(gateway::LatencyBoundsSeconds().size() + 1, 0);
  c.first_byte = c.duration;
  c.duration[bound_index] = n;
  c.first_byte[0] = n;
  return c;
}

TEST(BucketQuantile, InterpolatesWithinTheBucketLikePrometheus) {
  std::vector<double> bounds = {10, 20, 40};
  EXPECT_FALSE(BucketQuantile(0.5, bounds, {0, 0, 0, 0}));
  // 10 in (10, 20]: the median is halfway through that bucket.
  EXPECT_DOUBLE_EQ(*BucketQuantile(0.5, bounds, {0, 10, 0, 0}), 15);
  // 50 in (0, 10] and 50 in (20, 40]: p99 is near the top of the last.
  EXPECT_DOUBLE_EQ(*BucketQuantile(0.99, bounds, {50, 0, 50, 0}), 20 + 20 * 49.0 / 50);
  // Above the last bound: the last bound (what can be said).
  EXPECT_DOUBLE_EQ(*BucketQuantile(0.99, bounds, {1, 0, 0, 99}), 40);
}

TEST(TrafficWindow, RatesAndQuantilesOverTheWindow) {
  TrafficWindow w(10s);
  Clock::time_point t0{};
  w.Add(t0, {Replica("chat", "u1", 100, 4, 1000), Replica("chat", "u2", 0, 4)});
  // 4 s later: u1 answered 40 more (in the 10 ms bucket), u2 20 (in the 50 ms one).
  w.Add(t0 + 4s, {Replica("chat", "u1", 140, 4, 1400), Replica("chat", "u2", 20, 6, 200)});
  auto m = w.ByModel();
  ASSERT_EQ(m.count("chat"), 1u);
  const ModelTraffic& chat = m["chat"];
  EXPECT_EQ(chat.requests, 160u);
  EXPECT_EQ(chat.tokens, 1600u);
  EXPECT_DOUBLE_EQ(chat.requests_per_s, 60 / 4.0);
  EXPECT_DOUBLE_EQ(chat.tokens_per_s, 600 / 4.0);
  ASSERT_TRUE(chat.latency_ms);
  // 40 of 60 at ≤ 10 ms (bucket (5, 10]), 20 at (25, 50]: p50 in the first.
  EXPECT_GT(chat.latency_ms->p50, 5);
  EXPECT_LE(chat.latency_ms->p50, 10);
  EXPECT_GT(chat.latency_ms->p99, 25);
  EXPECT_LE(chat.latency_ms->p99, 50);
  ASSERT_TRUE(chat.ttft_ms);
  EXPECT_LE(chat.ttft_ms->p99, 0.5);
}

TEST(TrafficWindow, PerReplicaTheSameByUrl) {
  TrafficWindow w(10s);
  Clock::time_point t0{};
  w.Add(t0, {Replica("chat", "u1", 100, 4), Replica("chat", "u2", 0, 4)});
  w.Add(t0 + 4s, {Replica("chat", "u1", 140, 4), Replica("chat", "u2", 20, 6)});
  auto r = w.ByUrl();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r["u1"].requests, 140u);
  EXPECT_DOUBLE_EQ(r["u1"].requests_per_s, 10);
  EXPECT_DOUBLE_EQ(r["u2"].requests_per_s, 5);
  ASSERT_TRUE(r["u2"].latency_ms);
  EXPECT_GT(r["u2"].latency_ms->p50, 25);  // its own bucket, not the model's
}

TEST(TrafficWindow, OneReadingHasTotalsButNoRates) {
  TrafficWindow w;
  w.Add(Clock::time_point{}, {Replica("chat", "u1", 7, 0)});
  auto m = w.ByModel();
  EXPECT_EQ(m["chat"].requests, 7u);
  EXPECT_EQ(m["chat"].requests_per_s, 0);
  EXPECT_FALSE(m["chat"].latency_ms);
}

TEST(TrafficWindow, OldReadingsLeaveTheWindowAndIdleModelsHaveNoQuantiles) {
  TrafficWindow w(10s);
  Clock::time_point t0{};
  w.Add(t0, {Replica("chat", "u1", 0, 0)});
  w.Add(t0 + 2s, {Replica("chat", "u1", 1000, 0)});  // a burst, then nothing
  for (int s = 4; s <= 30; s += 2)
    w.Add(t0 + std::chrono::seconds(s), {Replica("chat", "u1", 1000, 0)});
  auto m = w.ByModel();
  EXPECT_EQ(m["chat"].requests, 1000u);
  EXPECT_EQ(m["chat"].requests_per_s, 0);  // the burst is older than the window
  EXPECT_FALSE(m["chat"].latency_ms);
}

TEST(TrafficWindow, AReplicaThatCameCountsFromZeroAndOneThatWentNoLonger) {
  TrafficWindow w(10s);
  Clock::time_point t0{};
  w.Add(t0, {Replica("chat", "old", 500, 0)});
  w.Add(t0 + 2s, {Replica("chat", "new", 10, 0)});  // moved: 10 answers in 2 s
  auto m = w.ByModel();
  EXPECT_EQ(m["chat"].requests, 10u);
  EXPECT_DOUBLE_EQ(m["chat"].requests_per_s, 5);
}

}  // namespace
}  // namespace carve::up
