#include "up/traffic.h"

#include <algorithm>

namespace carve::up {
namespace {

std::vector<uint64_t> Minus(const std::vector<uint64_t>& now, const std::vector<uint64_t>& then) {
  std::vector<uint64_t> out(now.size());
  for (size_t i = 0; i < now.size(); ++i) {
    uint64_t t = i < then.size() ? then[i] : 0;
    out[i] = now[i] > t ? now[i] - t : 0;
  }
  return out;
}

void AddTo(std::vector<uint64_t>& sum, const std::vector<uint64_t>& more) {
  if (sum.size() < more.size()) sum.resize(more.size());
  for (size_t i = 0; i < more.size(); ++i) sum[i] += more[i];
}

uint64_t Delta(uint64_t now, uint64_t then) { return now > then ? now - then : 0; }

}  // namespace

std::optional<Quantiles> QuantilesOf(const std::vector<uint64_t>& counts) {
  static const std::vector<double> bounds = [] {
    auto b = gateway::LatencyBoundsSeconds();
    for (double& x : b) x *= 1000;
    return b;
  }();
  auto p50 = BucketQuantile(0.5, bounds, counts), p99 = BucketQuantile(0.99, bounds, counts);
  if (!p50 || !p99) return std::nullopt;
  return Quantiles{*p50, *p99};
}

std::optional<double> BucketQuantile(double q, const std::vector<double>& bounds,
                                     const std::vector<uint64_t>& counts) {
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0 || bounds.empty()) return std::nullopt;
  double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0 || static_cast<double>(below + counts[i]) < rank) {
      below += counts[i];
      continue;
    }
    if (i >= bounds.size()) return bounds.back();  // above the last bound: say the bound
    double lo = i == 0 ? 0 : bounds[i - 1], hi = bounds[i];
    return lo + (hi - lo) * (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
  }
  return bounds.back();
}

void TrafficWindow::Add(Clock::time_point now, std::vector<gateway::ReplicaCounters> counters) {
  Reading r{now, {}};
  for (auto& c : counters) r.by_url[c.url] = std::move(c);
  readings_.push_back(std::move(r));
  // Keep the newest reading at least a window old, as the window's start.
  while (readings_.size() > 2 && readings_[1].at <= now - window_) readings_.pop_front();
}

std::map<std::string, ModelTraffic> TrafficWindow::By(bool model) const {
  std::map<std::string, ModelTraffic> out;
  if (readings_.empty()) return out;
  const Reading& last = readings_.back();
  const Reading& first = readings_.front();
  const double dt = std::chrono::duration<double>(last.at - first.at).count();
  std::map<std::string, std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> buckets;
  for (const auto& [url, c] : last.by_url) {
    const std::string& key = model ? c.model : url;
    ModelTraffic& m = out[key];
    m.requests += c.requests;
    m.errors += c.errors;
    m.tokens += c.tokens;
    m.in_flight += c.in_flight;
    m.queued = std::max(m.queued, c.queued);
    if (readings_.size() < 2 || dt <= 0) continue;
    // A replica the window's first reading lacks is new: its counters began at 0.
    static const gateway::ReplicaCounters kNew{};
    auto then = first.by_url.find(url);
    const gateway::ReplicaCounters& p = then == first.by_url.end() ? kNew : then->second;
    m.requests_per_s += static_cast<double>(Delta(c.requests, p.requests)) / dt;
    m.tokens_per_s += static_cast<double>(Delta(c.tokens, p.tokens)) / dt;
    m.errors_per_s += static_cast<double>(Delta(c.errors, p.errors)) / dt;
    AddTo(buckets[key].first, Minus(c.duration, p.duration));
    AddTo(buckets[key].second, Minus(c.first_byte, p.first_byte));
  }
  for (const auto& [key, b] : buckets) {
    out[key].latency_ms = QuantilesOf(b.first);
    out[key].ttft_ms = QuantilesOf(b.second);
  }
  return out;
}

}  // namespace carve::up
