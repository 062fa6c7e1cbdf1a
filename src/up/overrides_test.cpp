#include "up/overrides.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace carve::up {
namespace {

spec::Spec TwoModels() {
  auto s = spec::ParseSpec(
      "version: v1\nmodels:\n"
      "  - {name: chat, memory: 1GiB, replicas: 2, autoscale: {min: 1, max: 3}}\n"
      "  - {name: embed, memory: 1GiB, throughput: 40, profiles: [{profile: 1g.10gb, "
      "throughput: 20}]}\n",
      "c.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

TEST(Overrides, ApplyWhileTheSpecStillSaysWhatTheyWereSetOver) {
  spec::Spec s = TwoModels();
  Overrides o;
  o["chat"] = {5, std::nullopt, 2, "autoscale", ""};
  o["embed"] = {std::nullopt, 60.0, 40, "carve advise --apply", ""};
  o["gone"] = {3, std::nullopt, 1, "autoscale", ""};
  auto lines = ApplyOverrides(s, o);
  EXPECT_EQ(*s.models[0].replicas, 3);  // 5, kept within autoscale's max
  EXPECT_EQ(*s.models[1].throughput, 60);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "chat: replicas 3 (spec 2; autoscale)");
  // The user changed chat's replicas in the file since: the file wins.
  spec::Spec edited = TwoModels();
  edited.models[0].replicas = 1;
  EXPECT_EQ(InForce(edited, o).count("chat"), 0u);
  (void)ApplyOverrides(edited, o);
  EXPECT_EQ(*edited.models[0].replicas, 1);
}

TEST(Overrides, RoundTripThroughTheStateDir) {
  auto dir =
      std::filesystem::temp_directory_path() / ("carve_overrides_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto none = ReadOverrides(dir.string());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  Overrides o;
  o["chat"] = {3, std::nullopt, 2, "autoscale", "2026-12-04T08:00:00Z"};
  ASSERT_TRUE(WriteOverrides(dir.string(), o).ok());
  spec::Spec s = TwoModels();
  ASSERT_TRUE(ApplyOverrides(s, dir.string()).ok());
  EXPECT_EQ(*s.models[0].replicas, 3);
  std::filesystem::path file = dir / "overrides.json";
  { std::ofstream(file) << "{not json"; }
  auto bad = ApplyOverrides(s, dir.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("overrides.json"), std::string::npos) << bad.ToString();
  RemoveOverrides(dir.string());
  EXPECT_FALSE(std::filesystem::exists(file));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace carve::up
