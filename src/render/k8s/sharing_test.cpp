// share: true on Kubernetes: the device plugin's time-slicing config per
// layout, pods requesting <resource>.shared with their memory fractions, and
// the refusal where the plugin could put pods on one slice that do not fit it.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "render/k8s/k8s.h"
#include "render/k8s/k8s_testing.h"

namespace carve::render::k8s {
namespace {

std::string Spec(const std::string& fleet, const std::string& models) {
  return "version: v1\nfleet:\n" + fleet + "models:\n" + models;
}

TEST(K8sSharing, ThreeModelsOnOneSliceAreTimeSliced) {
  Planned e = PlanSpecText(Spec("  - {gpu: rtx-pro-6000, count: 1}\n",
                                "  - {name: a, memory: 8GiB, replicas: 1, share: true}\n"
                                "  - {name: b, memory: 6GiB, replicas: 1, share: true}\n"
                                "  - {name: c, memory: 4GiB, replicas: 1, share: true}\n"));
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->layouts.size(), 1u);
  EXPECT_EQ(c->layouts[0].time_slices, (TimeSlices{{"nvidia.com/mig-1g.24gb", 3}}));
  ASSERT_EQ(c->workloads.size(), 3u);
  for (const auto& w : c->workloads) {
    EXPECT_EQ(w.Resource(Strategy::kMixed), "nvidia.com/mig-1g.24gb.shared");
    EXPECT_LT(w.memory_fraction, 0.5);  // its own part of the slice, not 0.90
  }
  auto cm = DevicePluginConfigMap(*c, Options{});
  ASSERT_TRUE(cm.has_value());
  YAML::Node config = YAML::Load((*cm)["data"][c->layouts[0].name].get<std::string>());
  EXPECT_EQ(config["sharing"]["timeSlicing"]["resources"][0]["name"].as<std::string>(),
            "nvidia.com/mig-1g.24gb");
  EXPECT_EQ(config["sharing"]["timeSlicing"]["resources"][0]["replicas"].as<int>(), 3);
  EXPECT_TRUE(config["sharing"]["timeSlicing"]["renameByDefault"].as<bool>());
  EXPECT_NE(NodeLabelList(*c).find("nvidia.com/device-plugin.config=" + c->layouts[0].name),
            std::string::npos);
  EXPECT_NE(RolloutScript(*c, Options{}).find("nvidia.com/mig-1g.24gb.shared=3"),
            std::string::npos);
  EXPECT_NE(Runbook(*c, e.plan, Options{}).find("no isolation inside it"), std::string::npos);
}

TEST(K8sSharing, NoSharingNoConfig) {
  Planned e = PlanSpecText(
      Spec("  - {gpu: rtx-pro-6000, count: 1}\n", "  - {name: a, memory: 8GiB, replicas: 2}\n"));
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(DevicePluginConfigMap(*c, Options{}).has_value());
  EXPECT_EQ(c->workloads[0].Resource(Strategy::kMixed), "nvidia.com/mig-1g.24gb");
}

// Two slices each holding a (15 GiB) and b (8 GiB): the plugin may hand both
// shares of one slice to the two a pods, which do not fit it together.
TEST(K8sSharing, SharesThePluginCouldMisplaceAreRefused) {
  Planned e = PlanSpecText(Spec("  - {gpu: rtx-pro-6000, count: 1}\n",
                                "  - {name: a, memory: 15GiB, replicas: 2, share: true}\n"
                                "  - {name: b, memory: 8GiB, replicas: 2, share: true}\n"));
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("in any order"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("a 0.64, a 0.64"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().hint().find("min_profile"), std::string::npos);
}

TEST(K8sDra, SharedSlicesHaveNoClaimForm) {
  Planned e = PlanSpecText(Spec("  - {gpu: rtx-pro-6000, count: 1}\n",
                                "  - {name: a, memory: 8GiB, replicas: 1, share: true}\n"
                                "  - {name: b, memory: 6GiB, replicas: 1, share: true}\n"));
  Options dra;
  dra.dra = true;
  auto c = BuildCluster(e.plan, dra);
  ASSERT_TRUE(c.ok());
  auto objects = ModelObjects(*c, e.plan, e.spec, dra);
  ASSERT_FALSE(objects.ok());
  EXPECT_NE(objects.status().message().find("--dra"), std::string::npos);
  EXPECT_NE(objects.status().hint().find("without --dra"), std::string::npos);
}

// A fixed pool's device plugin runs `single`: its shares are nvidia.com/gpu.shared.
TEST(K8sSharing, FixedPoolSharesNvidiaGpu) {
  Planned e =
      PlanSpecText(Spec("  - {pool: rtx, gpu: rtx-pro-6000, count: 1, fixed_profile: 1g.24gb}\n",
                        "  - {name: a, memory: 5GiB, replicas: 4, share: true}\n"
                        "  - {name: b, memory: 5GiB, replicas: 4, share: true}\n"));
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->layouts[0].time_slices, (TimeSlices{{"nvidia.com/gpu", 2}}));
  EXPECT_EQ(c->workloads[0].Resource(Strategy::kMixed), "nvidia.com/gpu.shared");
  YAML::Node config = YAML::Load(ToYaml(DevicePluginConfig(c->layouts[0])));
  EXPECT_EQ(config["flags"]["migStrategy"].as<std::string>(), "single");
}

}  // namespace
}  // namespace carve::render::k8s
