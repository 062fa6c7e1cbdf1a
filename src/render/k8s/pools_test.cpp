// Fixed-profile pools in the cluster view: workloads request nvidia.com/gpu
// and select the pool, carve writes no MIG config or labels for its nodes,
// and a mixed cluster (fixed pool + MIG-manager node) renders as one.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "render/k8s/k8s.h"
#include "render/k8s/k8s_testing.h"

namespace carve::render::k8s {
namespace {

TEST(K8sFixedPool, ManagedPoolGetsOneModelPerSliceAndNoMigManagerObjects) {
  Planned e = PlanExample("managed");
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->layouts.size(), 1u);
  EXPECT_TRUE(c->layouts[0].pool.fixed());
  for (const auto& w : c->workloads) {
    EXPECT_EQ(w.Resource(Strategy::kMixed),
              "nvidia.com/gpu");  // the pool's device plugin runs `single`
    EXPECT_EQ(w.pool.selector,
              "nvidia.com/gpu.product=NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition-MIG-1g.24gb");
  }
  EXPECT_EQ(NodeLabelList(*c), "");  // carve labels no node of a fixed pool
  YAML::Node cm = YAML::Load(ToYaml(MigConfigMap(*c, Options{})));
  EXPECT_EQ(YAML::Load(cm["data"]["config.yaml"].as<std::string>())["mig-configs"].size(), 0u);
  auto models = ModelObjects(*c, e.plan, e.spec, Options{});
  ASSERT_TRUE(models.ok());
  for (const auto& d : *models) {
    if (d["kind"] != "Deployment") continue;
    const auto& pod = d["spec"]["template"]["spec"];
    EXPECT_FALSE(pod.contains("affinity"));  // nodes of a managed pool come and go: no host names
    EXPECT_EQ(pod["nodeSelector"].size(), 1u);
    EXPECT_EQ(pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"], 1);
  }
}

TEST(K8sFixedPool, WithoutTheGpuOperatorNoMigManagerObjects) {
  Planned e = PlanExample("managed");
  EXPECT_FALSE(
      plan::NodesRunGpuOperator(ReadText(CARVE_SOURCE_DIR "/examples/k8s/managed/nodes.json")));
  EXPECT_TRUE(
      plan::NodesRunGpuOperator(ReadText(CARVE_SOURCE_DIR "/examples/k8s/mixed-pools/nodes.json")));
  Options none;
  none.op = Operator::kNone;
  auto files = RenderK8s(e.plan, e.spec, none);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  for (const auto& f : *files) {
    EXPECT_NE(f.path, "mig-config.yaml");
    EXPECT_EQ(f.text.find("clusterpolicies"), std::string::npos) << f.path;
    EXPECT_EQ(f.text.find("nvidia.com/mig.config="), std::string::npos) << f.path;
  }
  auto objects = RenderK8sObjects(e.plan, e.spec, none);
  ASSERT_TRUE(objects.ok());
  EXPECT_EQ(objects->find("carve-mig-parted-config"), std::string::npos);
}

TEST(K8sFixedPool, WithoutTheGpuOperatorANodeToPartitionIsRefused) {
  Planned e = PlanExample("mixed-pools");
  Options none;
  none.op = Operator::kNone;
  auto c = BuildCluster(e.plan, none);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("node gpu-h100-1"), std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().hint().find("--operator gpu-operator"), std::string::npos);
}

TEST(K8sExoscale, CloudFromProviderIds) {
  EXPECT_EQ(plan::NodesCloud(ReadText(CARVE_SOURCE_DIR "/examples/k8s/managed/nodes.json")),
            "exoscale");
  EXPECT_EQ(plan::NodesCloud(ReadText(CARVE_SOURCE_DIR "/examples/k8s/nodes.json")), "");
  EXPECT_EQ(plan::NodesCloud(R"({"items": [{"spec": {"providerID": "aws:///eu-west-1a/i-0abc"},
      "metadata": {"name": "n", "labels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}}}]})"),
            "aws");
}

// The node agent carves a fixed pool; a layout carve chose is the MIG manager's.
TEST(K8sExoscale, NodeAgentCarvesFixedPoolsOnly) {
  Planned e = PlanExample("mixed-pools");
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok());
  Options exo;
  exo.cloud = Cloud::kExoscale;
  for (const auto& l : c->layouts) {
    EXPECT_EQ(ExoscaleCarves(l), l.pool.fixed()) << l.name;
    Json pool = NodePool(l, exo);
    EXPECT_EQ(pool["spec"]["template"]["metadata"]["labels"].contains("nvidia.com/mig.config"),
              !l.pool.fixed());
    Json cls = ExoscaleNodeClass(l);
    EXPECT_EQ(cls["kind"], "ExoscaleNodeClass");
    if (l.pool.fixed()) {
      std::string settings = cls["metadata"]["annotations"]["carve.dev/node-agent-settings"];
      EXPECT_NE(settings.find("\"rtxpro6000.96g\" = \"1g.24gb\""), std::string::npos) << settings;
    }
  }
}

// --dra: the H100's slices are claimed by profile (CEL); the fixed pool keeps nvidia.com/gpu.
TEST(K8sDra, ClaimsReplaceExtendedResourcesWhereCarveCarves) {
  Planned e = PlanExample("mixed-pools");
  Options dra;
  dra.dra = true;
  auto c = BuildCluster(e.plan, dra);
  ASSERT_TRUE(c.ok());
  auto objects = ModelObjects(*c, e.plan, e.spec, dra);
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  int templates = 0, claimed = 0, fixed = 0;
  for (const auto& o : *objects) {
    if (o["kind"] == "ResourceClaimTemplate") {
      ++templates;
      const auto& exactly = o["spec"]["spec"]["devices"]["requests"][0]["exactly"];
      EXPECT_EQ(exactly["deviceClassName"], "mig.nvidia.com");
      std::string cel = exactly["selectors"][0]["cel"]["expression"];
      EXPECT_EQ(cel.rfind("device.attributes['gpu.nvidia.com'].profile == '", 0), 0u) << cel;
    }
    if (o["kind"] != "Deployment") continue;
    const auto& pod = o["spec"]["template"]["spec"];
    std::string limits = pod["containers"][0]["resources"]["limits"].dump();
    if (pod.contains("resourceClaims")) {
      ++claimed;
      EXPECT_EQ(pod["resourceClaims"][0]["resourceClaimTemplateName"], o["metadata"]["name"]);
      EXPECT_EQ(limits.find("nvidia.com/"), std::string::npos) << limits;
    } else {
      ++fixed;
      EXPECT_NE(limits.find("nvidia.com/gpu"), std::string::npos) << limits;
    }
  }
  EXPECT_GT(templates, 0);
  EXPECT_EQ(templates, claimed);
  EXPECT_GT(fixed, 0);
  EXPECT_NE(Runbook(*c, e.plan, dra).find("One agent only may own a GPU's layout"),
            std::string::npos);
}

TEST(K8sFixedPool, MixedClusterRendersBothKinds) {
  Planned e = PlanExample("mixed-pools");
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  int fixed = 0, managed = 0;
  for (const auto& w : c->workloads) {
    if (w.pool.fixed()) {
      ++fixed;
      EXPECT_EQ(w.Resource(Strategy::kMixed), "nvidia.com/gpu");
      EXPECT_EQ(w.pool.name, "rtx-1g");
    } else {
      ++managed;
      EXPECT_EQ(w.Resource(Strategy::kMixed).rfind("nvidia.com/mig-", 0), 0u);
    }
  }
  EXPECT_GT(fixed, 0);
  EXPECT_GT(managed, 0);
  // Only the H100 node is the MIG manager's.
  EXPECT_EQ(NodeLabelList(*c).find("rtx-pool-1"), std::string::npos);
  EXPECT_NE(NodeLabelList(*c).find("gpu-h100-1"), std::string::npos);
  std::string rollout = RolloutScript(*c, Options{});
  EXPECT_NE(rollout.find("check_node rtx-pool-1 - nvidia.com/gpu=4\n"), std::string::npos)
      << rollout;
  EXPECT_NE(rollout.find("roll_node gpu-h100-1 "), std::string::npos);
}

}  // namespace
}  // namespace carve::render::k8s
