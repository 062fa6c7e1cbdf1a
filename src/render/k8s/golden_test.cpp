// carve render k8s on the examples beside the original one, against golden
// copies in tests/k8s/golden/<case>/ (CARVE_UPDATE_GOLDEN=1 rewrites them):
// the managed-pool tutorial, a fixed pool beside a MIG-manager node, three
// models time-sliced on one slice, --dra, Exoscale's node classes. tests/k8s/run.sh validates the
// same renders against their schemas.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "render/k8s/k8s.h"
#include "render/k8s/k8s_testing.h"

namespace carve::render::k8s {
namespace {

struct Case {
  std::string name;  // tests/k8s/golden/<name>/
  std::string
      example;  // examples/k8s/<example>/ ("": examples/k8s/): carve.yaml, nodes.json when there
  Options options;
};

Result<std::vector<File>> Render(const Case& c) {
  Planned p = PlanExample(c.example);
  Options o = c.options;
  o.spec_file = "examples/k8s/" + (c.example.empty() ? "" : c.example + "/") + "carve.yaml";
  o.carve_image = "ghcr.io/carve-project/carve:test";
  return RenderK8s(p.plan, p.spec, o);
}

void ExpectGolden(const Case& c) {
  auto files = Render(c);
  ASSERT_TRUE(files.ok()) << c.name << ": " << files.status().ToString();
  std::string dir = CARVE_SOURCE_DIR "/tests/k8s/golden/" + c.name + "/";
  bool update =
      std::getenv("CARVE_UPDATE_GOLDEN") && std::string(std::getenv("CARVE_UPDATE_GOLDEN")) == "1";
  if (update) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  size_t on_disk = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    on_disk += entry.is_regular_file();
  for (const auto& f : *files) {
    if (update) std::ofstream(dir + f.path) << f.text;
    EXPECT_EQ(f.text, ReadText(dir + f.path))
        << dir + f.path << " differs; CARVE_UPDATE_GOLDEN=1 rewrites it";
  }
  if (!update) {
    EXPECT_EQ(on_disk, files->size()) << dir << " holds files the render no longer writes";
  }
}

// What --operator auto and --cloud auto pick for these examples.
Options ExoscaleNoOperator() {
  Options o;
  o.op = Operator::kNone;
  o.cloud = Cloud::kExoscale;
  return o;
}

// The tutorial's nodes carry no GPU Operator labels and Exoscale provider IDs.
TEST(K8sGolden, ManagedPoolTutorial) { ExpectGolden({"managed", "managed", ExoscaleNoOperator()}); }
Options Dra() {
  Options o;
  o.dra = true;
  return o;
}

// The original example with its slices claimed through NVIDIA's DRA driver.
TEST(K8sGolden, DynamicResourceAllocation) { ExpectGolden({"dra", "", Dra()}); }
// Pools to create on Exoscale: ExoscaleNodeClass and NodePool per fixed pool.
TEST(K8sGolden, CloudExoscale) { ExpectGolden({"exoscale", "exoscale", ExoscaleNoOperator()}); }
TEST(K8sGolden, FixedPoolBesideAManagedH100) { ExpectGolden({"mixed-pools", "mixed-pools", {}}); }
TEST(K8sGolden, ThreeModelsTimeSlicedOnOneSlice) { ExpectGolden({"shared", "shared", {}}); }

}  // namespace
}  // namespace carve::render::k8s
