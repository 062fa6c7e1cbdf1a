// Per-model (and per-replica) traffic over the last few seconds, from the gateway's replica
// counters read at intervals: requests, tokens and errors per second, latency
// and time-to-first-token quantiles, in flight and queued. What `carve top`,
// the dashboard and `carve status --json` show as "models" (docs/observe.md).
// Pure: fed readings with their times; no clock, no I/O.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/gateway.h"

namespace carve::up {

struct Quantiles {
  double p50 = 0, p99 = 0;  // milliseconds
};

struct ModelTraffic {
  uint64_t requests = 0, errors = 0, tokens = 0;  // since the gateway started
  double requests_per_s = 0, tokens_per_s = 0, errors_per_s = 0;
  std::optional<Quantiles> latency_ms, ttft_ms;  // none: no answer in the window
  int in_flight = 0, queued = 0;
};

// The q-quantile (0..1) of observations counted per bucket (`counts`: one per
// bound, then one above the last), interpolated within its bucket as
// Prometheus' histogram_quantile does; in the bounds' unit. None when empty.
std::optional<double> BucketQuantile(double q, const std::vector<double>& bounds,
                                     const std::vector<uint64_t>& counts);
// p50 and p99 in milliseconds of counts over the gateway's latency buckets
// (gateway::LatencyBoundsSeconds); nullopt when nothing was counted.
std::optional<Quantiles> QuantilesOf(const std::vector<uint64_t>& counts);

class TrafficWindow {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TrafficWindow(std::chrono::milliseconds window = std::chrono::seconds(10))
      : window_(window) {}

  // A reading of every replica's counters taken at `now`.
  void Add(Clock::time_point now, std::vector<gateway::ReplicaCounters> counters);
  // Per model: totals as of the last reading; rates and quantiles between the
  // oldest reading still in the window and the last. A replica that came in
  // between counts from 0 (the gateway starts each one's counters there); one
  // that went is no longer counted.
  std::map<std::string, ModelTraffic> ByModel() const { return By(true); }
  // The same per replica, by url (`queued` is its model's).
  std::map<std::string, ModelTraffic> ByUrl() const { return By(false); }
  std::chrono::milliseconds window() const { return window_; }

 private:
  std::map<std::string, ModelTraffic> By(bool model) const;
  struct Reading {
    Clock::time_point at;
    std::map<std::string, gateway::ReplicaCounters> by_url;
  };
  std::chrono::milliseconds window_;
  std::deque<Reading> readings_;
};

}  // namespace carve::up
