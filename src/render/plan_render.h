// A plan as text for people (layout bars, per-slice table, totals), as JSON
// for programs (docs/planning.md lists the fields), and as the `gpus:`
// section `carve apply` reads. Pure functions of the plan.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan/plan.h"

namespace carve::render {

std::string PlanText(const plan::Plan& plan, bool compare);
// "$2100", "€2100", "CHF 2100": the plan's currency, whole units.
std::string Money(const plan::Plan& plan, double v);
nlohmann::ordered_json PlanJson(const plan::Plan& plan);
// `version: v1` + `gpus:` with each used GPU's layout ("3g.40gb@4"),
// `mig: off` for whole-GPU use. `source` names the spec in a comment.
std::string PlanLayoutsYaml(const plan::Plan& plan, const std::string& source);

// The GPU's placement units drawn as render::DrawBar draws a machine (top,
// middle, bottom lines): each slice a segment with its profile over its
// replicas; free units are empty cells; a whole GPU is one segment.
std::vector<std::string> LayoutBar(const plan::PlannedGpu& gpu, const plan::Plan& plan);

}  // namespace carve::render
