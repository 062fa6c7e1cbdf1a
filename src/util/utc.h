// The time now as people and logs read it: "2026-12-04T08:13:01Z" (UTC, ISO 8601).
#pragma once

#include <string>

namespace carve {

std::string UtcNow();

}  // namespace carve
