#include "up/gateway_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace carve::up {
namespace {

using ::testing::HasSubstr;

spec::Spec Spec(const std::string& gateway) {
  auto s = spec::ParseSpec(
      "version: v1\nmodels:\n"
      "  - {name: chat, engine: echo, memory: 9GiB, replicas: 2}\n"
      "  - {name: embed, engine: echo, memory: 9GiB, replicas: 1}\n" +
          gateway,
      "carve.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

serve::ReplicaSpec Replica(const std::string& model, int port, const std::string& slice) {
  serve::ReplicaSpec r;
  r.model = model;
  r.port = port;
  r.slice = slice;
  return r;
}

TEST(GatewayYaml, ServesEachModelsReplicasWithTheSpecsSettings) {
  spec::Spec s = Spec("gateway:\n  listen: 127.0.0.1:9000\n  retries: 1\n");
  auto yaml =
      GatewayYamlFor(s, {Replica("chat", 20000, "0:1g.10gb@0"),
                         Replica("embed", 20001, "0:1g.10gb@1"), Replica("chat", 20002, "1")});
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto cfg = gateway::ParseConfig(*yaml, "gateway.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString() << "\n" << *yaml;
  EXPECT_EQ(cfg->listen, "127.0.0.1:9000");
  EXPECT_EQ(cfg->retries, 1);
  ASSERT_EQ(cfg->models.size(), 2u);
  EXPECT_EQ(cfg->models[0].name, "chat");
  ASSERT_EQ(cfg->models[0].replicas.size(), 2u);
  EXPECT_EQ(cfg->models[0].replicas[0].url, "http://127.0.0.1:20000");
  EXPECT_EQ(cfg->models[0].replicas[0].gpu, "0");
  EXPECT_EQ(cfg->models[0].replicas[0].slice, "1g.10gb@0");
  EXPECT_EQ(cfg->models[0].replicas[1].gpu, "1");  // a whole GPU
  EXPECT_EQ(cfg->models[1].replicas[0].url, "http://127.0.0.1:20001");
}

TEST(GatewayYaml, AGatewaySectionWithModelsIsRefusedOnItsLine) {
  spec::Spec s = Spec("gateway:\n  models: []\n");
  auto yaml = GatewayYamlFor(s, {Replica("chat", 20000, "0:1g.10gb@0")});
  ASSERT_FALSE(yaml.ok());
  EXPECT_THAT(yaml.status().message(), HasSubstr("carve.yaml:6: gateway: has models:"));
}

// Issue #14.2: the gateway: section is read where it stands, by the one strict
// reader, so a mistake deep inside it names carve.yaml's own line and key path.
TEST(GatewayYaml, AMistakeInsideTheSectionNamesItsOwnLineAndPath) {
  spec::Spec s = Spec(
      "gateway:\n  listen: 127.0.0.1:9000\n  timeouts:\n    queue_ms: 1\n"
      "    conect_ms: 5\n");
  auto cfg = GatewayConfigFor(s, "/tmp");
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.status().message(),
              HasSubstr("carve.yaml:9: gateway.timeouts has unknown key 'conect_ms'"));
  EXPECT_THAT(cfg.status().hint(), HasSubstr("Did you mean 'connect_ms'?"));
  EXPECT_THAT(cfg.status().hint(), HasSubstr("docs/gateway.md"));
}

// A model's max_in_flight and max_queue become carve up's gateway limits for
// it (an on-demand model's queue bound while it loads, docs/pools.md).
TEST(GatewayConfig, AModelsQueueAndInFlightBoundsBecomeItsGatewayLimits) {
  auto s = spec::ParseSpec(
      "version: v1\nmodels:\n"
      "  - {name: chat, engine: echo, memory: 9GiB, replicas: 1, max_in_flight: 4, max_queue: 8}\n"
      "  - {name: tiny, engine: echo, memory: 4GiB, on_demand: true, max_queue: 2}\n"
      "  - {name: embed, engine: echo, memory: 9GiB, replicas: 1}\n",
      "carve.yaml");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto cfg = GatewayConfigFor(*s, "/tmp/st");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto limits = cfg->ModelLimits();
  ASSERT_EQ(limits.size(), 2u);  // embed keeps the defaults
  EXPECT_EQ(limits["chat"].max_in_flight, 4);
  EXPECT_EQ(limits["chat"].max_queue, 8);
  EXPECT_EQ(limits["tiny"].max_in_flight, 0);
  EXPECT_EQ(limits["tiny"].max_queue, 2);
  auto bad = spec::ParseSpec(
      "version: v1\nmodels:\n  - {name: chat, engine: echo, memory: 9GiB, max_in_flight: 0}\n",
      "carve.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("max_in_flight"));
  EXPECT_THAT(bad.status().message(), HasSubstr("carve.yaml:3"));
}

}  // namespace
}  // namespace carve::up
