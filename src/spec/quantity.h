// Quantities people write in specs: memory sizes ("10GiB", "14GB", "9728MiB")
// and minimum profiles ("2g.20gb"). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace carve::spec {

// The most memory a quantity may state: 1 PiB, hundreds of times what the
// largest tensor-parallel group holds. Anything larger is a typo (1e20GiB),
// and the bound keeps every sum and product of sizes far from overflow.
inline constexpr uint64_t kMaxMemoryMiB = uint64_t{1} << 30;

// The most GPUs one fleet entry may count (a fleet of these is already ten
// times the largest clusters); more is a typo, and would exhaust memory.
inline constexpr int kMaxGpuCount = 100000;

// Parses a memory size into MiB, rounding up (to at least 1 MiB). Binary (KiB
// MiB GiB TiB, also Ki Mi Gi Ti as Kubernetes writes them) and decimal units
// (KB MB GB TB) are accepted; a bare number is refused because "16" could mean
// anything, and a size above kMaxMemoryMiB as beyond any GPU.
Result<uint64_t> ParseMemoryMiB(std::string_view text);

// "Ng.Mgb": at least N compute slices and M GB (MIG's naming rounds, so
// 1g.10gb is 9984 MiB). Nothing may follow: "99g.1tb" and "1g.10gb+me" are
// not minimum profiles.
struct MinProfile {
  int compute = 0;
  int gb = 0;
};
Result<MinProfile> ParseMinProfile(std::string_view text);

// A duration in whole seconds: "90s", "5m", "2h", "1d", or a bare number of
// seconds ("300"); fractions are allowed and rounded down ("1.5m" is 90).
// Negative, non-finite and beyond-a-century values are refused.
Result<int64_t> ParseDurationS(std::string_view text);

// "9.75 GiB", "512 MiB": a size for people, in the larger unit that reads well.
std::string FormatMiB(uint64_t mib);

}  // namespace carve::spec
