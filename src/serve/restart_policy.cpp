#include "serve/restart_policy.h"

#include <algorithm>

namespace carve::serve {

RestartDecision RestartTracker::OnFailure(Clock::time_point now) {
  ++consecutive_;
  recent_.push_back(now);
  while (!recent_.empty() && now - recent_.front() > policy_.crash_loop_window) recent_.pop_front();
  RestartDecision d;
  if (static_cast<int>(recent_.size()) >= policy_.crash_loop_count) {
    d.crash_looping = true;
    d.delay = policy_.crash_loop_delay;
    return d;
  }
  // Doubling stops once past max, so a long run cannot overflow.
  Millis delay = policy_.base;
  for (int i = 1; i < consecutive_ && delay < policy_.max; ++i) delay *= 2;
  d.delay = std::min(delay, policy_.max);
  return d;
}

void RestartTracker::OnReady() {
  // Failures stay in the window: an engine that flaps (ready, crash, ready …)
  // is a crash loop too, and the window forgets them on its own.
  consecutive_ = 0;
}

}  // namespace carve::serve
