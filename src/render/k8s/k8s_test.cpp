// carve render k8s on the example cluster (examples/k8s): per-node planning
// with mixed products, the mig-parted ConfigMap read back, the single
// strategy's refusal, and the rendered files against golden copies
// (CARVE_UPDATE_GOLDEN=1 rewrites them).
#include "render/k8s/k8s.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>

#include "apply/mig_parted.h"
#include "gateway/config.h"
#include "render/k8s/k8s_testing.h"

namespace carve::render::k8s {
namespace {

const std::string kDir = CARVE_SOURCE_DIR "/examples/k8s/";

using Example = Planned;

Example Plan(const std::string& spec_text, const std::string& nodes_json) {
  return PlanSpecText(spec_text, nodes_json);
}
std::string Read(const std::string& path) { return ReadText(path); }

Example TheExample() { return Plan(Read(kDir + "carve.yaml"), Read(kDir + "nodes.json")); }

const Node* FindNode(const Cluster& c, const std::string& name) {
  for (const auto& n : c.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

TEST(K8sPlan, MixedProductsArePlannedAndRenderedPerNode) {
  Example e = TheExample();
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const Node* a100 = FindNode(*c, "gpu-a100-1");
  const Node* h100 = FindNode(*c, "gpu-h100-1");
  ASSERT_TRUE(a100 && h100);
  EXPECT_EQ(a100->gpus.front()->gpu.model->alias, "a100-80gb");
  EXPECT_EQ(h100->gpus.front()->gpu.model->alias, "h100-80gb");
  EXPECT_EQ(h100->current, "all-disabled");   // the node's nvidia.com/mig.config is kept
  EXPECT_EQ(FindNode(*c, "cpu-1"), nullptr);  // no GPU labels: not in the fleet
  for (const auto& l : c->layouts)
    for (const auto& n : l.nodes)
      EXPECT_EQ(FindNode(*c, n)->gpus.front()->gpu.model, l.model) << l.name;
  EXPECT_NE(a100->layout, h100->layout);
  EXPECT_EQ(a100->layout.rfind("carve-a100-80gb-", 0), 0u) << a100->layout;
  // Each product's slices are requested under that product's profile names.
  std::string models = ToYamlDocs(*ModelObjects(*c, e.plan, e.spec, Options{}));
  EXPECT_NE(models.find("nvidia.com/mig-3g.40gb"), std::string::npos);
}

// GFD writes "NVIDIA-A100-SXM4-80GB" for "NVIDIA A100-SXM4-80GB": dashes
// were already part of the name, so turning every dash into a space missed it.
TEST(K8sPlan, GfdProductWithDashesInItsName) {
  auto f = plan::FleetFromNodes(R"({"items": [{"metadata": {"name": "n", "labels": {
      "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu.count": "1"}}}]})",
                                mig::Catalog::Builtin());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)[0].model->alias, "a100-80gb");
}

TEST(K8sPlan, NodeWithoutMigCapableIsPlannedWhole) {
  Example e = TheExample();
  int whole = 0;
  for (const auto& g : e.plan.gpus)
    if (g.gpu.node == "gpu-h100-vm") {
      EXPECT_EQ(g.gpu.model->alias, "h100-nvl");
      EXPECT_FALSE(g.gpu.model->mig);  // MIG-capable in the catalogue, not on this node
      EXPECT_FALSE(g.mig);
      for (const auto& s : g.slices) {
        EXPECT_EQ(s.profile, nullptr);
        ++whole;
      }
    }
  EXPECT_EQ(whole, 1);  // the 70B model holds the whole card
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(FindNode(*c, "gpu-h100-vm")->mig_capable);
  // Not MIG-capable: only carve's layout label, never the MIG manager's.
  std::string labels = NodeLabelList(*c), layout = FindNode(*c, "gpu-h100-vm")->layout;
  EXPECT_NE(labels.find("gpu-h100-vm --overwrite carve.dev/layout=" + layout + "\n"),
            std::string::npos)
      << labels;
  EXPECT_EQ(labels.find("nvidia.com/mig.config=" + layout), std::string::npos) << labels;
}

TEST(K8sPlan, SingleStrategyRefusesANonUniformNode) {
  Example e = TheExample();
  Options single;
  single.strategy = Strategy::kSingle;
  auto c = BuildCluster(e.plan, single);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("not uniform"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("node gpu-"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().hint().find("--strategy mixed"), std::string::npos);
}

TEST(K8sPlan, SingleStrategyOnAUniformNodeRequestsGpus) {
  Example e = Plan(
      "version: v1\nmodels:\n  - {name: small, memory: 8GiB, replicas: 7}\n",
      R"({"items": [{"metadata": {"name": "n1", "labels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
                       "nvidia.com/gpu.count": "1", "nvidia.com/mig.capable": "true"}}}]})");
  Options single;
  single.strategy = Strategy::kSingle;
  auto c = BuildCluster(e.plan, single);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->workloads.size(), 1u);
  EXPECT_EQ(c->workloads[0].Resource(Strategy::kSingle), "nvidia.com/gpu");
  EXPECT_EQ(c->workloads[0].replicas, 7);
}

using Counts = std::vector<std::pair<std::string, int>>;

// The config `name` read back by carve's own mig-parted reader (apply/), as
// profile counts per GPU in the order the config lists them.
std::map<int, Counts> ReadBack(const std::string& text, const std::string& name,
                               const std::vector<const plan::PlannedGpu*>& gpus) {
  std::vector<device::Gpu> machine;
  for (const auto* g : gpus) {
    device::Gpu d;
    d.index = g->gpu.local_index;
    d.model = g->gpu.model;
    d.mig_capable = g->gpu.model->mig;
    machine.push_back(d);
  }
  std::sort(machine.begin(), machine.end(), [](auto& a, auto& b) { return a.index < b.index; });
  auto layouts = apply::LoadMigParted(text, "config.yaml", name, machine);
  EXPECT_TRUE(layouts.ok()) << layouts.status().ToString();
  std::map<int, Counts> out;
  if (!layouts.ok()) return out;
  for (const auto& l : *layouts) {
    Counts& c = out[l.gpu];
    for (const auto& s : l.slices) {
      if (c.empty() || c.back().first != s.profile->name) c.push_back({s.profile->name, 0});
      ++c.back().second;
    }
  }
  return out;
}

TEST(K8sMigConfig, ReadBackYieldsThePlannedLayoutsInPlacementOrder) {
  Example e = TheExample();
  auto c = BuildCluster(e.plan, Options{});
  ASSERT_TRUE(c.ok());
  YAML::Node cm = YAML::Load(ToYaml(MigConfigMap(*c, Options{})));
  EXPECT_EQ(cm["kind"].as<std::string>(), "ConfigMap");
  int checked = 0;
  for (const auto& n : c->nodes) {
    if (n.layout.empty() || !n.mig_capable) continue;
    auto read = ReadBack(cm["data"]["config.yaml"].as<std::string>(), n.layout, n.gpus);
    for (const auto* g : n.gpus) {
      Counts planned;  // profile counts in the plan's placement order
      for (const auto& s : g->mig ? g->slices : std::vector<plan::PlannedSlice>{}) {
        if (planned.empty() || std::none_of(planned.begin(), planned.end(),
                                            [&](auto& p) { return p.first == s.profile->name; }))
          planned.push_back({s.profile->name, 0});
        for (auto& p : planned) p.second += p.first == s.profile->name;
      }
      EXPECT_EQ(read[g->gpu.local_index], planned) << n.name << " GPU " << g->gpu.local_index;
      ++checked;
    }
  }
  EXPECT_GE(checked, 4);
}

TEST(K8sRender, GoldenFiles) {
  Example e = TheExample();
  Options o;
  o.spec_file = "examples/k8s/carve.yaml";
  o.carve_image = "ghcr.io/carve-project/carve:test";
  auto files = RenderK8s(e.plan, e.spec, o);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  bool update =
      std::getenv("CARVE_UPDATE_GOLDEN") && std::string(std::getenv("CARVE_UPDATE_GOLDEN")) == "1";
  for (const auto& f : *files) {
    std::string path = CARVE_SOURCE_DIR "/tests/k8s/golden/" + f.path;
    if (update) std::ofstream(path) << f.text;
    EXPECT_EQ(f.text, Read(path)) << path << " differs; CARVE_UPDATE_GOLDEN=1 rewrites it";
  }
  auto again = RenderK8s(e.plan, e.spec, o);  // deterministic
  for (size_t i = 0; i < files->size(); ++i) EXPECT_EQ((*files)[i].text, (*again)[i].text);
}

TEST(K8sRender, CommandEngineWithoutImageIsRefused) {
  Example e = Plan(
      "version: v1\nmodels:\n  - {name: tool, engine: command, command: [./serve, '{port}'], "
      "memory: 8GiB, replicas: 1}\n",
      Read(kDir + "nodes.json"));
  auto files = RenderK8s(e.plan, e.spec, Options{});
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.status().message().find("no container image"), std::string::npos);
  EXPECT_NE(files.status().hint().find("image:"), std::string::npos);
}

}  // namespace
}  // namespace carve::render::k8s

namespace carve::render::k8s {
namespace {

// The gateway in the cluster reads the config carve renders for it: it must
// be one the gateway accepts (it once named its URLs "backends").
TEST(K8sRender, TheGatewayConfigIsOneTheGatewayAccepts) {
  Example e = TheExample();
  Options o;
  auto config = GatewayConfig(e.plan, e.spec, o);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto parsed = gateway::ParseConfig(config->dump(2), "gateway.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->models.empty());
  for (const auto& m : parsed->models) EXPECT_EQ(m.replicas.size(), 1u) << m.name;

  e.spec.gateway["limits"]["max_body_mib"] = 32;  // not a gateway key
  auto refused = GatewayConfig(e.plan, e.spec, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("max_body_mib"), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace carve::render::k8s
