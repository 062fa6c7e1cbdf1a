#include "up/status.h"

#include <gtest/gtest.h>

namespace carve::up {
namespace {

TEST(UpStatusText, ShowsEveryReplicaAndTheFailuresTail) {
  auto st = nlohmann::ordered_json::parse(R"({
    "pid": 42, "spec": "/s/carve.yaml",
    "gateway": {"listen": "127.0.0.1:8000", "url": "http://127.0.0.1:8000"},
    "replicas": [
      {"id": "chat/0", "model": "chat", "gpu": 0, "profile": "1g.10gb", "start": 2,
       "uuid": "MIG-aaaa", "memory_used_mib": 9216, "memory_total_mib": 9984, "engine": "echo",
       "pid": 100, "port": 20000, "state": "ready", "restarts": 1, "requests_per_s": 2.5, "errors": 0},
      {"id": "bad/0", "model": "bad", "gpu": 0, "profile": "1g.10gb", "start": 3,
       "uuid": "MIG-bbbb", "memory_used_mib": 0, "memory_total_mib": 9984, "engine": "command",
       "pid": 0, "port": 20001, "state": "crash-looping", "restarts": 4, "requests_per_s": 0, "errors": 0,
       "last_error": "exit 3\nl1\nl2\nfatal: no weights"}
    ],
    "reload_error": ""})");
  std::string text = StatusText(st);
  EXPECT_NE(text.find("carve up (pid 42) serving /s/carve.yaml on http://127.0.0.1:8000"),
            std::string::npos);
  EXPECT_NE(text.find("1g.10gb@2"), std::string::npos);
  EXPECT_NE(text.find("9216/9984"), std::string::npos);
  EXPECT_NE(text.find("MIG-aaaa"), std::string::npos);
  EXPECT_NE(text.find("crash-looping"), std::string::npos);
  EXPECT_NE(text.find("bad/0 (crash-looping): exit 3"), std::string::npos);
  EXPECT_NE(text.find("fatal: no weights"), std::string::npos);
  EXPECT_EQ(text.find("chat/0 (ready)"), std::string::npos);  // only failures get a tail
}

TEST(UpStatusJson, VersionV1WithReplicasSortedAndSliceMemory) {
  ServiceView v;
  v.pid = 7;
  v.spec = "/s/carve.yaml";
  v.listen = "127.0.0.1:8000";
  ReplicaView b, a;
  b.engine.id = "chat/1", b.engine.state = serve::State::kReady, b.slot.gpu = 0, b.slot.gi = 3;
  a.engine.id = "chat/0", a.slot.profile = "1g.10gb", a.requests = 5;
  v.replicas = {b, a};
  device::Gpu g;
  g.gpu_instances.push_back({});
  g.gpu_instances[0].id = 3, g.gpu_instances[0].memory_used_mib = 100;
  g.gpu_instances[0].memory_total_mib = 9984;
  v.gpus = {g};
  auto j = StatusJson(v);
  EXPECT_EQ(j["version"], "v1");
  EXPECT_EQ(j.begin().key(), "version");
  EXPECT_EQ(j["gateway"]["url"], "http://127.0.0.1:8000");
  ASSERT_EQ(j["replicas"].size(), 2u);
  EXPECT_EQ(j["replicas"][0]["id"], "chat/0");
  EXPECT_EQ(j["replicas"][0]["requests"], 5);
  EXPECT_EQ(j["replicas"][1]["state"], "ready");
  EXPECT_EQ(j["replicas"][1]["memory_total_mib"], 9984);
}

}  // namespace
}  // namespace carve::up
