#include "gateway/metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace carve::gateway {

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  if (i < kBounds.size()) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e9), std::memory_order_relaxed);
}

void StatusCounts::Add(int status) {
  if (status >= 100 && status <= 599) counts_[status - 100].fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::pair<int, uint64_t>> StatusCounts::NonZero() const {
  std::vector<std::pair<int, uint64_t>> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    uint64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n) out.emplace_back(static_cast<int>(i) + 100, n);
  }
  return out;
}

std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

namespace {

std::string LabelText(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + '"';
  }
  return out + '}';
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

}  // namespace

void PromWriter::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void PromWriter::Sample(std::string_view name, const Labels& labels, double value) {
  out_ += fmt::format("{}{} {}\n", name, LabelText(labels), Number(value));
}

void PromWriter::WriteHistogram(std::string_view name, const Labels& labels, const Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  for (size_t i = 0; i < Histogram::kBounds.size(); ++i) {
    cumulative += h.bucket(i);
    with_le.back().second = Number(Histogram::kBounds[i]);
    Sample(bucket, with_le, static_cast<double>(cumulative));
  }
  // Read count after the buckets so +Inf is never below the last bucket.
  uint64_t count = std::max(h.count(), cumulative);
  with_le.back().second = "+Inf";
  Sample(bucket, with_le, static_cast<double>(count));
  Sample(std::string(name) + "_sum", labels, h.sum());
  Sample(std::string(name) + "_count", labels, static_cast<double>(count));
}

void PromWriter::Raw(std::string_view text) {
  out_.append(text);
  if (!text.empty() && text.back() != '\n') out_ += '\n';
}

}  // namespace carve::gateway
