#include "serve/restart_policy.h"

#include <gtest/gtest.h>

#include <vector>

namespace carve::serve {
namespace {

using std::chrono::seconds;

RestartPolicy Policy() {
  RestartPolicy p;
  p.base = Millis(1000);
  p.max = Millis(30'000);
  p.crash_loop_count = 5;
  p.crash_loop_window = Millis(600'000);
  p.crash_loop_delay = Millis(300'000);
  return p;
}

TEST(RestartPolicy, BackoffDoublesUpToTheMax) {
  RestartPolicy p = Policy();
  p.crash_loop_count = 100;
  RestartTracker t(p);
  Clock::time_point now{};
  std::vector<long> delays;
  for (int i = 0; i < 8; ++i) {
    now += seconds(120);
    delays.push_back(t.OnFailure(now).delay.count());
  }
  EXPECT_EQ(delays, (std::vector<long>{1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000}));
}

TEST(RestartPolicy, ReadyEndsTheRunOfFailures) {
  RestartPolicy p = Policy();
  p.crash_loop_count = 100;
  RestartTracker t(p);
  Clock::time_point now{};
  t.OnFailure(now);
  t.OnFailure(now += seconds(1));
  EXPECT_EQ(t.OnFailure(now += seconds(1)).delay, Millis(4000));
  t.OnReady();
  EXPECT_EQ(t.consecutive_failures(), 0);
  EXPECT_EQ(t.OnFailure(now += seconds(1)).delay, Millis(1000));
}

TEST(RestartPolicy, FiveFailuresInTheWindowAreACrashLoop) {
  RestartTracker t(Policy());
  Clock::time_point now{};
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(t.OnFailure(now += seconds(10)).crash_looping);
  RestartDecision d = t.OnFailure(now += seconds(10));
  EXPECT_TRUE(d.crash_looping);
  EXPECT_EQ(d.delay, Millis(300'000));  // long: a broken engine costs nothing
  EXPECT_TRUE(t.OnFailure(now += seconds(300)).crash_looping);
}

TEST(RestartPolicy, FailuresSpreadWiderThanTheWindowAreNot) {
  RestartTracker t(Policy());
  Clock::time_point now{};
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(t.OnFailure(now += seconds(200)).crash_looping) << i;
}

TEST(RestartPolicy, FlappingEngineIsACrashLoopToo) {
  RestartTracker t(Policy());
  Clock::time_point now{};
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(t.OnFailure(now += seconds(30)).crash_looping);
    t.OnReady();  // ready for a moment each time
  }
  EXPECT_TRUE(t.OnFailure(now += seconds(30)).crash_looping);
}

TEST(RestartPolicy, TheCrashLoopEndsWhenFailuresAgeOut) {
  RestartTracker t(Policy());
  Clock::time_point now{};
  for (int i = 0; i < 5; ++i) t.OnFailure(now += seconds(1));
  t.OnReady();
  RestartDecision d = t.OnFailure(now += seconds(601));
  EXPECT_FALSE(d.crash_looping);
  EXPECT_EQ(d.delay, Millis(1000));
}

}  // namespace
}  // namespace carve::serve
