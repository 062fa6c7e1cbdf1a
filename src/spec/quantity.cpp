#include "spec/quantity.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>

namespace carve::spec {

Result<uint64_t> ParseMemoryMiB(std::string_view text) {
  static const std::map<std::string, double, std::less<>> kUnitBytes = {
      {"KiB", 1024.0}, {"MiB", 1024.0 * 1024}, {"GiB", 1024.0 * 1024 * 1024},
      {"TiB", 1024.0 * 1024 * 1024 * 1024}, {"Ki", 1024.0}, {"Mi", 1024.0 * 1024},
      {"Gi", 1024.0 * 1024 * 1024}, {"Ti", 1024.0 * 1024 * 1024 * 1024},
      {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}};
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
  return static_cast<uint64_t>(std::ceil(v * it->second / (1024.0 * 1024.0) - 1e-9));
}

std::string FormatMiB(uint64_t mib) {
  if (mib < 1024) return fmt::format("{} MiB", mib);
  return fmt::format("{:.1f} GiB", mib / 1024.0);
}

}  // namespace carve::spec
