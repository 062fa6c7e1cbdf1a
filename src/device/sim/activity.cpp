#include "device/sim/activity.h"

#include <time.h>

#include <algorithm>

namespace carve::device::sim {
namespace {

// Seconds of one compute slice a token costs, per resource.
struct Cost {
  double sm, tensor, memory_bandwidth;
};
constexpr Cost kPrompt{1.0 / 8000, 0.9 / 8000, 0.3 / 8000};
constexpr Cost kGenerated{1.0 / 2000, 0.4 / 2000, 0.8 / 2000};

double Delta(uint64_t a, uint64_t b) { return b > a ? static_cast<double>(b - a) : 0.0; }

}  // namespace

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Utilisation Between(const ActivitySample& a, const ActivitySample& b) {
  double seconds = static_cast<double>(b.t_ns - a.t_ns) / 1e9;
  if (seconds <= 0) return {};
  double prompt = Delta(a.counts.prompt_tokens, b.counts.prompt_tokens);
  double generated = Delta(a.counts.completion_tokens, b.counts.completion_tokens);
  double capacity = seconds * std::max(1, b.compute_slices);
  auto ratio = [&](double Cost::*r) {
    return std::min(1.0, (prompt * kPrompt.*r + generated * kGenerated.*r) / capacity);
  };
  return {ratio(&Cost::sm), ratio(&Cost::memory_bandwidth), ratio(&Cost::tensor)};
}

}  // namespace carve::device::sim
