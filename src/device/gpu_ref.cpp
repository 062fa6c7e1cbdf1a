#include "device/gpu_ref.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace carve::device {
namespace {

using PciAddress = std::array<unsigned, 4>;  // domain, bus, device, function

std::optional<unsigned> Hex(std::string_view s) {
  unsigned v = 0;
  if (s.empty() || s.size() > 8) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "[domain:]bus:device[.function]", hex, as nvidia-smi and NVML write them.
std::optional<PciAddress> ParsePci(std::string_view s) {
  PciAddress a{0, 0, 0, 0};
  size_t last = s.rfind(':');
  if (last == std::string_view::npos) return std::nullopt;
  std::string_view head = s.substr(0, last), tail = s.substr(last + 1);
  if (size_t dot = tail.find('.'); dot != std::string_view::npos) {
    auto fn = Hex(tail.substr(dot + 1));
    if (!fn) return std::nullopt;
    a[3] = *fn, tail = tail.substr(0, dot);
  }
  std::string_view domain, bus = head;
  if (size_t c = head.find(':'); c != std::string_view::npos)
    domain = head.substr(0, c), bus = head.substr(c + 1);
  auto d = domain.empty() ? std::optional<unsigned>(0) : Hex(domain);
  auto b = Hex(bus), dev = Hex(tail);
  if (!d || !b || !dev) return std::nullopt;
  a[0] = *d, a[1] = *b, a[2] = *dev;
  return a;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), s.begin(),
                    [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string Present(const std::vector<Gpu>& gpus) {
  if (gpus.empty()) return "This machine has no GPUs.";
  std::string out = "The GPUs here (index, UUID, PCI bus id):";
  for (const auto& g : gpus)
    out += fmt::format("\n  {}  {}  {}  {}", g.index, g.uuid, g.pci_bus_id, g.name);
  return out;
}

// One name to the GPUs it fits (several only for a UUID prefix).
Result<std::vector<int>> Matches(const std::vector<Gpu>& gpus, const std::string& ref) {
  std::vector<int> out;
  if (!ref.empty() && ref.size() <= 4 && std::all_of(ref.begin(), ref.end(), ::isdigit)) {
    for (const auto& g : gpus)
      if (g.index == std::stoi(ref)) out.push_back(g.index);
  } else if (StartsWithNoCase(ref, "GPU-")) {
    for (const auto& g : gpus)
      if (StartsWithNoCase(g.uuid, ref)) out.push_back(g.index);
  } else if (auto want = ParsePci(ref)) {
    for (const auto& g : gpus)
      if (ParsePci(g.pci_bus_id) == want) out.push_back(g.index);
  } else {
    return Status::InvalidArgument(fmt::format("-i {}: not a GPU index, UUID or PCI bus id", ref),
                                   "Name a GPU by index (0), UUID or its start (GPU-5f0c…), or PCI "
                                   "bus id (00000000:17:00.0 or "
                                   "17:00.0). " +
                                       Present(gpus));
  }
  if (out.empty())
    return Status::NotFound(fmt::format("no GPU {} on this machine", ref), Present(gpus));
  return out;
}

}  // namespace

Result<std::vector<int>> ResolveGpuRefs(const std::vector<Gpu>& gpus,
                                        const std::vector<std::string>& refs) {
  std::vector<int> out;
  for (const auto& ref : refs) {
    CARVE_ASSIGN_OR_RETURN(std::vector<int> fits, Matches(gpus, ref));
    if (fits.size() > 1) {
      std::string which;
      for (int i : fits) which += fmt::format("{}GPU {}", which.empty() ? "" : ", ", i);
      return Status::InvalidArgument(fmt::format("-i {} fits {} GPUs: {}", ref, fits.size(), which),
                                     "Give more of the UUID. " + Present(gpus));
    }
    if (std::find(out.begin(), out.end(), fits[0]) == out.end()) out.push_back(fits[0]);
  }
  return out;
}

}  // namespace carve::device
