// The picture of an apply before it runs (docs/apply.md): per
// GPU the layout before and after, what is kept, destroyed and created, the
// processes in the way, MIG mode changes and resets, and a one-line verdict.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "apply/changes.h"
#include "apply/reconcile.h"
#include "render/style.h"

namespace carve::render {

std::string RenderChanges(const apply::Changes& plan, bool force, const Style& st);
// "Verdict: 3 operations on GPU 0 only; no MIG mode change, no reset; nothing in use is touched."
std::string Verdict(const apply::Changes& plan, bool force);
// `carve apply --dry-run --json` (docs/apply.md).
nlohmann::ordered_json ChangesJson(const apply::Changes& plan, bool force);
// `carve apply --json`: the outcome.
nlohmann::ordered_json OutcomeJson(const apply::Outcome& out);

}  // namespace carve::render
