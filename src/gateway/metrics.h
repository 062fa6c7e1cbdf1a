// Lock-free counters and histograms, and the Prometheus text they render to.
//
// Request handling on every thread bumps these with relaxed atomics; /metrics
// reads them without stopping anyone, so a scrape sees each number at some
// instant, not all of them at one instant (as Prometheus expects).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace carve::gateway {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A cumulative histogram with fixed upper bounds, in seconds.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60};
  void Observe(double seconds);
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_ns_.load(std::memory_order_relaxed) / 1e9; }
  uint64_t bucket(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  // Observations per bucket (not cumulative), then those above the last bound.
  using Counts = std::array<uint64_t, kBounds.size() + 1>;
  Counts counts() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size()> buckets_{};  // not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

// Appends metric families in the Prometheus text format (version 0.0.4).
class PromWriter {
 public:
  // "# HELP" and "# TYPE" lines; call once per family, before its samples.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  // name{labels[,extra]} value, with labels already joined (JoinLabels): the
  // fast path for series by the thousand.
  void Sample(std::string_view name, std::string_view labels, std::string_view extra,
              uint64_t value);
  // name_bucket{…,le=…}, name_sum and name_count.
  void WriteHistogram(std::string_view name, const Labels& labels, const Histogram& h);
  void WriteHistogram(std::string_view name, std::string_view labels, const Histogram& h);
  // Lines produced elsewhere (e.g. per-slice memory from the device layer).
  void Raw(std::string_view text);
  void Reserve(size_t bytes) { out_.reserve(bytes); }
  const std::string& text() const { return out_; }
  std::string Take() && { return std::move(out_); }

 private:
  std::string out_;
};

// Escapes a label value: backslash, double quote and newline.
std::string EscapeLabel(std::string_view value);
// `a="x",b="y"`: labels escaped and joined, without the braces.
std::string JoinLabels(const Labels& labels);

}  // namespace carve::gateway
