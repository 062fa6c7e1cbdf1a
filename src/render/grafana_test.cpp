#include "render/grafana.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace carve::render {
namespace {

TEST(Grafana, AnImportableDashboardWithUniquePanelIdsAndAQueryEach) {
  auto j = nlohmann::json::parse(GrafanaDashboard());
  EXPECT_EQ(j["__inputs"][0]["name"], "DS_PROMETHEUS");
  EXPECT_EQ(j["__inputs"][0]["pluginId"], "prometheus");
  EXPECT_EQ(j["uid"], "carve-slices");
  std::set<int> ids;
  std::set<std::string> rows;
  for (const auto& p : j["panels"]) {
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << p["title"];
    int x = p["gridPos"]["x"], w = p["gridPos"]["w"];
    EXPECT_LE(x + w, 24) << p["title"];
    if (p["type"] == "row") {
      rows.insert(p["title"].get<std::string>());
      continue;
    }
    ASSERT_FALSE(p["targets"].empty()) << p["title"];
    for (const auto& t : p["targets"]) {
      EXPECT_NE(t["expr"].get<std::string>().find("carve_"), std::string::npos) << p["title"];
      EXPECT_EQ(t["datasource"]["uid"], "${DS_PROMETHEUS}");
    }
  }
  EXPECT_EQ(rows, (std::set<std::string>{"GPUs and slices", "Traffic per model", "Errors"}));
}

}  // namespace
}  // namespace carve::render
