// Traffic history: per model, the gateway's counters accumulated since the
// service started, kept as a snapshot every few seconds for the last 15
// minutes, so that traffic over any window up to that (`carve advise
// --window 5m`, autoscale) is known at once instead of measured anew.
//
// Counters (requests, errors, tokens, latency and first-byte buckets) are
// summed from each replica's increase between readings, so replicas that come
// and go (their counters start at 0) count right. Gauges (in flight, queued,
// replicas in rotation) are integrated over time (request-seconds), so a
// window's average is the integral's increase over the window's length.
//
// The service writes it to STATE_DIR/traffic.json (state_dir.h); `carve
// advise` and the autoscaler read it. Pure: fed readings with their times.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gateway/gateway.h"
#include "up/traffic.h"
#include "util/status.h"

namespace carve::up {

// One model's totals since the service started.
struct ModelTotals {
  uint64_t requests = 0, errors = 0, tokens = 0;
  std::vector<uint64_t> duration = {}, first_byte = {};  // per latency bucket (gateway.h)
  double in_flight_s = 0, queued_s = 0, replica_s = 0;   // gauges integrated over seconds
  bool operator==(const ModelTotals&) const = default;
};

// A model's traffic averaged over a window.
struct WindowTraffic {
  double seconds = 0;  // how much history the window really had
  double requests_per_s = 0, tokens_per_s = 0, errors_per_s = 0;
  std::optional<Quantiles> latency_ms, ttft_ms;  // none: no answer in the window
  double in_flight = 0, queued = 0;              // on average
  double replicas = 0;                           // in rotation, on average
};

class TrafficHistory {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kEvery{5};       // one snapshot per
  static constexpr std::chrono::seconds kKeep{15 * 60};  // the longest window

  // A reading of every replica's counters at `now`. Returns true when it
  // took a snapshot (every kEvery): the time to write the file.
  bool Add(Clock::time_point now, const std::vector<gateway::ReplicaCounters>& counters);
  // Per model, the traffic between the newest snapshot and the one `window`
  // before it (or the oldest there is).
  std::map<std::string, WindowTraffic> Over(std::chrono::seconds window) const;

  // {"version": "v1", "every_s", "snapshots": [{"t": seconds since the
  // first, "models": {NAME: totals}}]}
  nlohmann::json ToJson() const;
  static Result<TrafficHistory> FromJson(const nlohmann::json& j);

 private:
  struct Snapshot {
    double t = 0;  // seconds since the first reading
    std::map<std::string, ModelTotals> models;
  };
  std::optional<Clock::time_point> first_, last_;
  std::map<std::string, gateway::ReplicaCounters> last_by_url_;
  Snapshot now_;  // the totals as of the last reading
  std::deque<Snapshot> snapshots_;
};

// STATE_DIR/traffic.json of the running service; kNotFound before it wrote one.
Result<TrafficHistory> ReadTrafficHistory(const std::string& state_dir);
Status WriteTrafficHistory(const std::string& state_dir, const TrafficHistory& h);

}  // namespace carve::up
