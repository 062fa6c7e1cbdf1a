// carve plan --pools: node-pool advice as text for people (the pools, their
// cost against the best mixed layout, the spec's fleet: entries that declare
// them) and as JSON (docs/planning.md lists the fields).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "plan/pools.h"

namespace carve::render {

std::string PoolsText(const plan::PoolAdvice& advice);
nlohmann::ordered_json PoolsJson(const plan::PoolAdvice& advice);

}  // namespace carve::render
