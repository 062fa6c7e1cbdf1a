#include "spec/quantity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

namespace carve::spec {

Result<uint64_t> ParseMemoryMiB(std::string_view text) {
  static const std::map<std::string, double, std::less<>> kUnitBytes = {
      {"KiB", 1024.0},
      {"MiB", 1024.0 * 1024},
      {"GiB", 1024.0 * 1024 * 1024},
      {"TiB", 1024.0 * 1024 * 1024 * 1024},
      {"Ki", 1024.0},
      {"Mi", 1024.0 * 1024},
      {"Gi", 1024.0 * 1024 * 1024},
      {"Ti", 1024.0 * 1024 * 1024 * 1024},
      {"KB", 1e3},
      {"MB", 1e6},
      {"GB", 1e9},
      {"TB", 1e12}};
  std::string s(text);
  const char* begin = s.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  std::string unit(end);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
  auto it = kUnitBytes.find(unit);
  if (end == begin || it == kUnitBytes.end() || !(v > 0) || !std::isfinite(v))
    return Status::InvalidArgument(
        fmt::format("'{}' is not a memory size", text),
        "Write a number and a unit: 10GiB, 14GB, 9728MiB (binary KiB/MiB/GiB/TiB or decimal "
        "KB/MB/GB/TB).");
  // Compared as a double: converting one beyond uint64_t's range is undefined.
  double mib = std::ceil(v * it->second / (1024.0 * 1024.0) - 1e-9);
  if (mib > double(kMaxMemoryMiB))
    return Status::InvalidArgument(
        fmt::format("'{}' is more than 1 PiB, beyond any GPU or group of GPUs", text),
        "Check the number and the unit (10GiB, not 10e10GiB).");
  return std::max<uint64_t>(1, static_cast<uint64_t>(mib));
}

Result<MinProfile> ParseMinProfile(std::string_view text) {
  MinProfile p;
  std::string_view s = text;
  auto number = [&s](int* out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    if (ec != std::errc() || *out < 1) return false;
    s.remove_prefix(size_t(ptr - s.data()));
    return true;
  };
  auto literal = [&s](std::string_view l) {
    if (!s.starts_with(l)) return false;
    s.remove_prefix(l.size());
    return true;
  };
  if (number(&p.compute) && literal("g.") && number(&p.gb) && literal("gb") && s.empty()) return p;
  return Status::InvalidArgument(fmt::format("'{}' is not a profile name", text),
                                 "Write it as <N>g.<M>gb, e.g. 2g.20gb: at least N compute "
                                 "slices and M GB.");
}

Result<int64_t> ParseDurationS(std::string_view text) {
  static const std::map<std::string, double, std::less<>> kUnitSeconds = {
      {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  constexpr double kCentury = 100.0 * 365 * 86400;
  std::string s(text);
  const char* begin = s.c_str();
  char* end = nullptr;
  double v = std::strtod(begin, &end);
  auto it = kUnitSeconds.find(std::string_view(end));
  if (end == begin || it == kUnitSeconds.end() || !(v >= 0) || v * it->second > kCentury)
    return Status::InvalidArgument(fmt::format("'{}' is not a duration", text),
                                   "Write a number and a unit: 90s, 5m, 2h, 1d (a bare number is "
                                   "seconds).");
  return static_cast<int64_t>(v * it->second);
}

std::string FormatMiB(uint64_t mib) {
  if (mib < 1024) return fmt::format("{} MiB", mib);
  return fmt::format("{:.1f} GiB", mib / 1024.0);
}

}  // namespace carve::spec
