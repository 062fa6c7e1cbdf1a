// Test helpers shared by the k8s renderer's tests: files of the source tree,
// and plans of a spec on a node list, on its own fleet, or on examples/k8s/.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "plan/fleet.h"
#include "plan/from_spec.h"
#include "plan/plan.h"
#include "spec/spec.h"

namespace carve::render::k8s {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Planned {
  spec::Spec spec;
  plan::Plan plan;
};

// `spec_text` planned on the nodes of `nodes_json`, or on its own fleet: when "".
inline Planned PlanSpecText(const std::string& spec_text, const std::string& nodes_json = "") {
  auto spec = spec::ParseSpec(spec_text, "carve.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  if (!spec.ok()) return {};
  const auto& cat = mig::Catalog::Builtin();
  auto demands = plan::DemandsFromSpec(*spec, {}, cat);
  auto fleet = nodes_json.empty() ? plan::FleetFromSpec(*spec->fleet, cat)
                                  : plan::FleetFromNodes(nodes_json, cat);
  EXPECT_TRUE(demands.ok() && fleet.ok()) << fleet.status().ToString();
  if (!demands.ok() || !fleet.ok()) return {};
  plan::PlanRequest req;
  req.fleet = *fleet;
  for (auto& d : *demands) req.models.push_back(d.demand);
  Planned p{*spec, plan::MakePlan(req)};
  EXPECT_TRUE(p.plan.unmet.empty());
  return p;
}

// examples/k8s/<dir>/ ("" for examples/k8s/): carve.yaml on its nodes.json when there.
inline Planned PlanExample(const std::string& dir) {
  std::string base = CARVE_SOURCE_DIR "/examples/k8s/" + (dir.empty() ? "" : dir + "/");
  std::string nodes =
      std::filesystem::exists(base + "nodes.json") ? ReadText(base + "nodes.json") : "";
  return PlanSpecText(ReadText(base + "carve.yaml"), nodes);
}

}  // namespace carve::render::k8s
