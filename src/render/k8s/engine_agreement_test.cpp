// One engine, three launchers: for every engine kind, the process carve up
// starts, the `docker run` of carve render docker and the Deployment of carve
// render k8s run the same image with the same flags and wait for the same
// health path as long, because all three ask serve/engine.h. They once
// drifted: vLLM's image `:latest` in one and a pinned tag in another,
// llama.cpp with other flags on a host than on Kubernetes.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "render/k8s/k8s.h"
#include "render/k8s/k8s_testing.h"
#include "serve/docker.h"
#include "serve/engine.h"
#include "up/desired.h"

namespace carve::render::k8s {
namespace {

using Words = std::vector<std::string>;

// One model per engine kind, each with args of its own.
constexpr const char* kSpec = R"(version: v1
fleet:
  - {gpu: h100-80gb, count: 1}
models:
  - {name: chat, engine: vllm, source: Qwen/Qwen3-4B, memory: 8GiB, replicas: 1,
     args: [--max-model-len, "8192"]}
  - {name: small, engine: llama.cpp, source: ggml-org/gemma-3-1b-it-GGUF, memory: 8GiB,
     replicas: 1}
  - {name: embed, engine: sglang, source: BAAI/bge-large-en-v1.5, memory: 8GiB, replicas: 1}
  - {name: demo, engine: echo, image: "ghcr.io/carve-project/carve:test", memory: 8GiB,
     replicas: 1, args: [--tokens, "4"]}
  - {name: tool, engine: command, image: registry.example.com/tool:1, memory: 8GiB, replicas: 1,
     command: [./serve.sh, --port, "{port}", --model, "{model}"]}
)";

Json ContainerOf(const std::vector<Json>& objects, const std::string& model) {
  for (const Json& o : objects)
    if (o["kind"] == "Deployment" && o["metadata"]["labels"]["carve.dev/model"] == model)
      return o["spec"]["template"]["spec"]["containers"][0];
  ADD_FAILURE() << "no Deployment for " << model;
  return Json::object();
}

std::string After(const Words& words, const std::string& flag) {
  auto at = std::find(words.begin(), words.end(), flag);
  return at != words.end() && at + 1 != words.end() ? *(at + 1) : "";
}

TEST(EngineAgreement, HostDockerAndKubernetesRunTheSameEngine) {
  Planned p = PlanSpecText(kSpec);
  Options o;
  auto cluster = BuildCluster(p.plan, o);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto objects = ModelObjects(*cluster, p.plan, p.spec, o);
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  int placeholders = 0;
  auto replicas = up::ReplicasFromPlan(p.plan, p.spec, {}, placeholders);
  ASSERT_TRUE(replicas.ok()) << replicas.status().ToString();
  ASSERT_EQ(replicas->size(), 5u);
  for (const serve::ReplicaSpec& r : *replicas) {
    SCOPED_TRACE(r.model);
    auto host = serve::BuildLaunch(r, kModelPort, "carve");
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    auto docker = serve::BuildDockerRun(r, kModelPort, {}, serve::DockerMode::kScript);
    ASSERT_TRUE(docker.ok()) << docker.status().ToString();
    const Json k8s = ContainerOf(*objects, r.model);
    Words k8s_words = k8s.value("command", Words{});
    for (const auto& a : k8s["args"]) k8s_words.push_back(a);

    // The same image.
    const std::string docker_image = docker->lines[docker->lines.size() - 2].at(0);
    EXPECT_EQ(k8s["image"], docker_image);
    EXPECT_EQ(docker_image, serve::ImageFor(r));
    // The same words in both containers; on the host, the same flags after
    // the program (the images start `vllm serve` and `llama-server` themselves),
    // on loopback.
    EXPECT_EQ(docker->lines.back(), k8s_words);
    Words on_host = k8s_words;
    std::replace(on_host.begin(), on_host.end(), std::string("0.0.0.0"), std::string("127.0.0.1"));
    ASSERT_GE(host->argv.size(), on_host.size());
    EXPECT_TRUE(std::equal(on_host.begin(), on_host.end(), host->argv.end() - on_host.size()))
        << "host: " << fmt::format("{}", fmt::join(host->argv, " "))
        << "\ncontainer: " << fmt::format("{}", fmt::join(k8s_words, " "));
    EXPECT_LE(host->argv.size() - on_host.size(), 2u);

    // The same health path, waited for as long as carve up waits.
    const serve::ProbeSpec probe = serve::ProbeFor(r);
    const std::string path = k8s["livenessProbe"]["httpGet"]["path"];
    EXPECT_EQ(path, serve::HealthPath(probe));
    EXPECT_EQ(k8s["startupProbe"]["httpGet"]["path"], path);
    const Words all = docker->Argv();
    EXPECT_TRUE(After(all, "--health-cmd").ends_with(":8000" + path)) << After(all, "--health-cmd");
    const int startup_s = k8s["startupProbe"]["periodSeconds"].get<int>() *
                          k8s["startupProbe"]["failureThreshold"].get<int>();
    EXPECT_EQ(startup_s, probe.ready_timeout_ms / 1000);
    EXPECT_EQ(After(all, "--health-start-period"), fmt::format("{}s", startup_s));
  }
}

}  // namespace
}  // namespace carve::render::k8s
