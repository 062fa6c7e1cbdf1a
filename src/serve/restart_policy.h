// When to restart an engine that exited, and when to call it crash-looping.
//
// Pure: the caller passes the time, so tests drive it with a fake clock.
// Rules (docs/serve.md, "Restarts"):
//   - the n-th consecutive failure waits min(base * 2^(n-1), max);
//   - becoming ready ends a run of failures (the next one waits `base`);
//   - `crash_loop_count` failures within `crash_loop_window` (ready or not in
//     between: flapping counts) make the replica crash-looping: it then waits
//     `crash_loop_delay` between attempts, long enough that a broken engine
//     costs nothing, until failures age out of the window.
#pragma once

#include <chrono>
#include <deque>

namespace carve::serve {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct RestartPolicy {
  Millis base{1'000};
  Millis max{60'000};
  int crash_loop_count = 5;
  Millis crash_loop_window{600'000};
  Millis crash_loop_delay{300'000};
};

struct RestartDecision {
  Millis delay{0};
  bool crash_looping = false;
};

class RestartTracker {
 public:
  explicit RestartTracker(RestartPolicy policy) : policy_(policy) {}

  // An attempt failed (exit, failed start, failed probes) at `now`.
  RestartDecision OnFailure(Clock::time_point now);
  // The engine became ready: the run of failures ends.
  void OnReady();

  int consecutive_failures() const { return consecutive_; }

 private:
  RestartPolicy policy_;
  int consecutive_ = 0;
  std::deque<Clock::time_point> recent_;  // failures within the window
};

}  // namespace carve::serve
