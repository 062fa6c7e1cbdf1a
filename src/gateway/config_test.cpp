#include "gateway/config.h"

#include <gtest/gtest.h>

namespace carve::gateway {
namespace {

constexpr char kFull[] = R"(version: v1
listen: 0.0.0.0:9000
threads: 3
access_log: off
retries: 1
models:
  - name: qwen
    max_in_flight: 4
    max_queue: 10
    replicas:
      - url: http://127.0.0.1:8001
        gpu: "0"
        slice: 3g.40gb@4
      - http://127.0.0.1:8002
keys:
  - name: team-a
    sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
    models: [qwen]
  - name: ops
    sha256: 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
    models: ["*"]
    admin: true
limits: {max_body_bytes: 1024, max_header_bytes: 2048, max_connections: 5}
timeouts: {connect_ms: 10, upstream_idle_ms: 20, client_idle_ms: 30, client_write_ms: 40, queue_ms: 0, drain_ms: 60}
health: {interval_ms: 70, timeout_ms: 80, path: /ping}
)";

TEST(GatewayConfig, ReadsEveryKey) {
  auto c = ParseConfig(kFull, "gw.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen_host, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 9000);
  EXPECT_EQ(c->threads, 3);
  EXPECT_EQ(c->access_log, "off");
  EXPECT_EQ(c->retries, 1);
  ASSERT_EQ(c->models.size(), 1u);
  const auto& m = c->models[0];
  EXPECT_EQ(m.limits.max_in_flight, 4);
  EXPECT_EQ(m.limits.max_queue, 10);
  ASSERT_EQ(m.replicas.size(), 2u);
  EXPECT_EQ(m.replicas[0].slice, "3g.40gb@4");
  EXPECT_EQ(m.replicas[1].url, "http://127.0.0.1:8002");
  EXPECT_EQ(m.replicas[1].model, "qwen");
  ASSERT_EQ(c->keys.size(), 2u);
  EXPECT_EQ(c->keys[0].sha256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_FALSE(c->keys[0].admin);  // the default
  EXPECT_TRUE(c->keys[1].admin);
  EXPECT_EQ(c->max_body_bytes, 1024u);
  EXPECT_EQ(c->max_header_bytes, 2048u);
  EXPECT_EQ(c->max_connections, 5);
  EXPECT_EQ(c->timeouts.client_write_ms, 40);
  EXPECT_EQ(c->timeouts.queue_ms, 0);
  EXPECT_EQ(c->health.path, "/ping");
  EXPECT_EQ(c->AllBackends().size(), 2u);
}

TEST(GatewayConfig, EmptyFileMeansDefaults) {
  auto c = ParseConfig("", "gw.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen_port, 8000);
  EXPECT_EQ(c->max_body_bytes, 32u << 20);
  EXPECT_EQ(c->timeouts.upstream_idle_ms, 300000);
  EXPECT_EQ(c->health.interval_ms, 2000);
}

// Each bad config must fail with the file and line of the culprit.
struct BadCase {
  const char* yaml;
  const char* where;    // "gw.yaml:LINE:"
  const char* message;  // part of the message
};

class GatewayConfigErrors : public testing::TestWithParam<BadCase> {};

TEST_P(GatewayConfigErrors, NamesFileAndLine) {
  auto c = ParseConfig(GetParam().yaml, "gw.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
  EXPECT_NE(c.status().message().find(GetParam().where), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find(GetParam().message), std::string::npos)
      << c.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GatewayConfigErrors,
    testing::Values(
        BadCase{"listen: 127.0.0.1:8000\nlisen: x\n", "gw.yaml:2:", "unknown key 'lisen'"},
        BadCase{"version: v2\n", "gw.yaml:1:", "'version' is 'v2'; this carve reads v1"},
        BadCase{"listen: nowhere\n", "gw.yaml:1:", "HOST:PORT"},
        BadCase{"threads: many\n", "gw.yaml:1:", "'threads' is 'many', not a whole number ≥ 0"},
        BadCase{"models:\n  - name: a\n    replicas: [https://x:1]\n", "gw.yaml:3:", "http://"},
        BadCase{"models:\n  - name: a\n    replicas:\n      - url: http://h:1/v1\n",
                "gw.yaml:4:", "has a path"},
        BadCase{"models:\n  - name: a\n", "gw.yaml:2:", "at least one url"},
        BadCase{"models:\n  - name: a\n    replicas: [http://h:1]\n  - name: a\n    replicas: "
                "[http://h:2]\n",
                "gw.yaml:4:", "listed twice"},
        BadCase{"models:\n  - name: a\n    replicas:\n      - url: http://h:1\n        gpus: 0\n",
                "gw.yaml:5:", "unknown key 'gpus'"},
        BadCase{"keys:\n  - name: k\n    sha256: secret\n    models: [a]\n",
                "gw.yaml:3:", "64 hex digits"},
        BadCase{"keys:\n  - name: k\n    sha256: "
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n",
                "gw.yaml:2:", "models must list"},
        BadCase{"timeouts:\n  connect_ms: -1\n",
                "gw.yaml:2:", "timeouts: 'connect_ms' is '-1', not a whole number ≥ 1"},
        BadCase{"health:\n  path: health\n", "gw.yaml:2:", "must start with /"},
        BadCase{"models: [\n", "gw.yaml:", "not valid YAML"},
        // Issue #12.4, #12.11, #12.19.
        BadCase{"threads: 100000\n", "gw.yaml:1:", "more than 256"},
        BadCase{"models:\n  - name: a\n    replicas: [http://u:secret@h:1]\n",
                "gw.yaml:3:", "credentials"},
        BadCase{"listen: 127.0.0.1:1\nretries: 1\nlisten: 127.0.0.1:2\n",
                "gw.yaml:3:", "'listen' is given twice"},
        BadCase{"timeouts:\n  queue_ms: 1\n  queue_ms: 2\n", "gw.yaml:3:", "given twice"},
        BadCase{"retries: 1\n---\nretries: 2\n", "gw.yaml:3:", "second YAML document"},
        BadCase{"limits: {max_body_bytes: 0}\n", "gw.yaml:1:",
                "limits: 'max_body_bytes' is '0', not a whole number from 1 to 4294967296"},
        BadCase{"health:\n  path: \"/h\\r\\nX-Evil: 1\"\n", "gw.yaml:2:", "control character"},
        BadCase{
            "models:\n  - name: a\n    replicas: [http://h:1]\nkeys:\n  - name: k\n    sha256: "
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n    models: [b]\n",
            "gw.yaml:5:", "names model 'b'"}));

}  // namespace
}  // namespace carve::gateway
