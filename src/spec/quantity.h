// Quantities people write in specs: memory sizes ("10GiB", "14GB", "9728MiB").
// Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace carve::spec {

// Parses a memory size into MiB, rounding up. Binary (KiB MiB GiB TiB, also
// Ki Mi Gi Ti as Kubernetes writes them) and decimal units (KB MB GB TB) are
// accepted; a bare number is refused because "16" could mean anything.
Result<uint64_t> ParseMemoryMiB(std::string_view text);

// "9.75 GiB", "512 MiB": a size for people, in the larger unit that reads well.
std::string FormatMiB(uint64_t mib);

}  // namespace carve::spec
