#include "gateway/metrics.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace carve::gateway {

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  if (i < kBounds.size()) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e9), std::memory_order_relaxed);
}

Histogram::Counts Histogram::counts() const {
  Counts out{};
  uint64_t in_buckets = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) in_buckets += out[i] = bucket(i);
  // count() and the buckets are read at slightly different instants.
  out[kBounds.size()] = count() > in_buckets ? count() - in_buckets : 0;
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

std::string JoinLabels(const Labels& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + '"';
  }
  return out;
}

namespace {

std::string LabelText(const Labels& labels) {
  return labels.empty() ? std::string() : '{' + JoinLabels(labels) + '}';
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

void PromWriter::Sample(std::string_view name, std::string_view labels, std::string_view extra,
                        uint64_t value) {
  out_.append(name);
  out_ += '{';
  out_.append(labels);
  if (!extra.empty()) {
    if (!labels.empty()) out_ += ',';
    out_.append(extra);
  }
  out_ += "} ";
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, end);
  out_ += '\n';
}

void PromWriter::WriteHistogram(std::string_view name, const Labels& labels, const Histogram& h) {
  WriteHistogram(name, JoinLabels(labels), h);
}

void PromWriter::WriteHistogram(std::string_view name, std::string_view labels,
                                const Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kBounds.size(); ++i) {
    cumulative += h.bucket(i);
    Sample(bucket, labels, fmt::format("le=\"{}\"", Number(Histogram::kBounds[i])), cumulative);
  }
  // Read count after the buckets so +Inf is never below the last bucket.
  uint64_t count = std::max(h.count(), cumulative);
  Sample(bucket, labels, "le=\"+Inf\"", count);
  std::string braced = labels.empty() ? std::string() : '{' + std::string(labels) + '}';
  out_ += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braced, Number(h.sum()), name, braced,
                      count);
}

void PromWriter::Raw(std::string_view text) {
  out_.append(text);
  if (!text.empty() && text.back() != '\n') out_ += '\n';
}

}  // namespace carve::gateway
