#include "device/xid.h"

#include <fmt/format.h>

namespace carve::device {

const std::vector<Xid>& KnownXids() {
  static const std::vector<Xid> xids = {
      {48, "double-bit ECC error"},
      {63, "ECC page retirement or row remapping recording event"},
      {64, "ECC page retirement or row remapping recording failure"},
      {74, "NVLink error"},
      {79, "GPU has fallen off the bus"},
      {92, "high single-bit ECC error rate"},
      {94, "contained ECC error"},
      {95, "uncontained ECC error"},
  };
  return xids;
}

std::optional<std::string_view> XidWords(int number) {
  for (const auto& x : KnownXids())
    if (x.number == number) return x.words;
  return std::nullopt;
}

std::string XidText(int number) {
  auto words = XidWords(number);
  return words ? fmt::format("Xid {}: {}", number, *words) : fmt::format("Xid {}", number);
}

std::string KnownXidList() {
  std::string out;
  for (const auto& x : KnownXids())
    out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", x.number, x.words);
  return out;
}

}  // namespace carve::device
