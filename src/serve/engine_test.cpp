#include "serve/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace carve::serve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

ReplicaSpec Spec(EngineKind kind) {
  ReplicaSpec s;
  s.id = "m/0";
  s.model = "qwen3-4b";
  s.engine = kind;
  s.source = "Qwen/Qwen3-4B";
  s.uuid = "MIG-8d1f0c2e-0000-5000-8000-000000000001";
  s.memory_fraction = 0.85;
  s.args = {"--max-model-len", "8192"};
  return s;
}

TEST(Engine, VllmServesSourceUnderTheModelNameOnLoopback) {
  auto l = BuildLaunch(Spec(EngineKind::kVllm), 20001, "/usr/bin/carve");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_THAT(l->argv, ElementsAre("vllm", "serve", "Qwen/Qwen3-4B", "--host", "127.0.0.1",
                                   "--port", "20001", "--served-model-name", "qwen3-4b",
                                   "--gpu-memory-utilization", "0.85", "--max-model-len", "8192"));
}

TEST(Engine, LlamaCppTakesTheGgufAndAnAlias) {
  ReplicaSpec s = Spec(EngineKind::kLlamaCpp);
  s.source = "/models/qwen3-4b-q4_k_m.gguf";
  s.args = {"-ngl", "99"};
  auto l = BuildLaunch(s, 20002, "carve");
  ASSERT_TRUE(l.ok());
  EXPECT_THAT(l->argv, ElementsAre("llama-server", "--model", "/models/qwen3-4b-q4_k_m.gguf",
                                   "--host", "127.0.0.1", "--port", "20002", "--alias", "qwen3-4b",
                                   "--n-gpu-layers", "999", "-ngl", "99"));
}

// Not a file: a Hugging Face repository llama.cpp downloads (as on Kubernetes).
TEST(Engine, LlamaCppDownloadsARepositoryThatIsNoGgufFile) {
  ReplicaSpec s = Spec(EngineKind::kLlamaCpp);
  s.source = "ggml-org/gemma-3-1b-it-GGUF:Q4_K_M";
  s.args.clear();
  auto l = BuildLaunch(s, 20002, "carve");
  ASSERT_TRUE(l.ok());
  EXPECT_THAT(
      l->argv,
      ElementsAre("llama-server", "--hf-repo", "ggml-org/gemma-3-1b-it-GGUF:Q4_K_M", "--host",
                  "127.0.0.1", "--port", "20002", "--alias", "qwen3-4b", "--n-gpu-layers", "999"));
}

TEST(Engine, SglangGetsItsMemoryFraction) {
  ReplicaSpec s = Spec(EngineKind::kSglang);
  s.args = {};
  auto l = BuildLaunch(s, 20003, "carve");
  ASSERT_TRUE(l.ok());
  EXPECT_THAT(l->argv,
              ElementsAre("python3", "-m", "sglang.launch_server", "--model-path", "Qwen/Qwen3-4B",
                          "--host", "127.0.0.1", "--port", "20003", "--served-model-name",
                          "qwen3-4b", "--mem-fraction-static", "0.85"));
}

TEST(Engine, EchoIsCarveItself) {
  ReplicaSpec s = Spec(EngineKind::kEcho);
  s.source.clear();
  s.args = {"--tokens-per-second", "50"};
  auto l = BuildLaunch(s, 20004, "/opt/carve/bin/carve");
  ASSERT_TRUE(l.ok());
  EXPECT_THAT(l->argv,
              ElementsAre("/opt/carve/bin/carve", "engine", "echo", "--host", "127.0.0.1", "--port",
                          "20004", "--model", "qwen3-4b", "--tokens-per-second", "50"));
}

TEST(Engine, CommandExpandsEveryPlaceholder) {
  ReplicaSpec s = Spec(EngineKind::kCommand);
  s.command = {"./serve.sh", "--port={port}",     "{uuid}",     "{model}",
               "{source}",   "{memory_fraction}", "{{literal}}"};
  s.args = {"{port}"};  // args are passed as written: they may hold templates of their own
  auto l = BuildLaunch(s, 20005, "carve");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_THAT(l->argv, ElementsAre("./serve.sh", "--port=20005", s.uuid, "qwen3-4b",
                                   "Qwen/Qwen3-4B", "0.85", "{literal}", "{port}"));
}

TEST(Engine, UnknownPlaceholderIsNamed) {
  ReplicaSpec s = Spec(EngineKind::kCommand);
  s.command = {"./serve.sh", "--gpu={gpu_index}"};
  auto l = BuildLaunch(s, 1, "carve");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(l.status().message(), HasSubstr("unknown placeholder {gpu_index}"));
  EXPECT_THAT(l.status().message(), HasSubstr("model qwen3-4b"));
  EXPECT_THAT(l.status().hint(), HasSubstr("{memory_fraction}"));
}

TEST(Engine, UnclosedAndStrayBracesAreErrors) {
  ReplicaSpec s = Spec(EngineKind::kCommand);
  EXPECT_THAT(ExpandPlaceholders("--port={port", s, 1).status().message(), HasSubstr("unclosed"));
  EXPECT_THAT(ExpandPlaceholders("a}b", s, 1).status().message(), HasSubstr("stray"));
}

TEST(Engine, MissingPiecesAreErrors) {
  ReplicaSpec s = Spec(EngineKind::kCommand);
  EXPECT_THAT(BuildLaunch(s, 1, "c").status().message(), HasSubstr("needs a command"));
  s = Spec(EngineKind::kVllm);
  s.source.clear();
  EXPECT_THAT(BuildLaunch(s, 1, "c").status().message(), HasSubstr("needs a source"));
  s = Spec(EngineKind::kVllm);
  s.uuid.clear();
  EXPECT_THAT(BuildLaunch(s, 1, "c").status().message(), HasSubstr("no MIG UUID"));
}

TEST(Engine, BothVisibleDevicesVariablesAreTheSlice) {
  ReplicaSpec s = Spec(EngineKind::kVllm);
  s.env = {{"HF_HOME", "/srv/hf"}, {"CUDA_VISIBLE_DEVICES", "0"}};  // the slice wins
  auto l = BuildLaunch(s, 1, "c");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->env.at("CUDA_VISIBLE_DEVICES"), s.uuid);
  EXPECT_EQ(l->env.at("NVIDIA_VISIBLE_DEVICES"), s.uuid);
  EXPECT_EQ(l->env.at("HF_HOME"), "/srv/hf");
}

TEST(Engine, ProbesFitTheEngine) {
  ProbeSpec vllm = DefaultProbe(EngineKind::kVllm);
  ASSERT_EQ(vllm.ready.size(), 2u);
  EXPECT_EQ(vllm.ready[0].path, "/health");
  EXPECT_EQ(vllm.ready[1].path, "/v1/models");
  EXPECT_TRUE(vllm.ready[1].expect_model);
  ProbeSpec cmd = DefaultProbe(EngineKind::kCommand);
  ASSERT_EQ(cmd.ready.size(), 1u);
  EXPECT_FALSE(cmd.ready[0].expect_model);
  ReplicaSpec s = Spec(EngineKind::kCommand);
  s.probe = ProbeSpec{};
  s.probe->ready = {{"/ping", false}};
  EXPECT_EQ(ProbeFor(s).ready[0].path, "/ping");
}

// In a container the flags are the host's but for the address: vLLM's and
// llama.cpp's images start their server themselves, SGLang's does not.
TEST(Engine, AContainerGetsTheHostsFlagsOnEveryInterface) {
  for (auto kind :
       {EngineKind::kVllm, EngineKind::kLlamaCpp, EngineKind::kSglang, EngineKind::kEcho}) {
    ReplicaSpec s = Spec(kind);
    auto host = EngineCommandFor(s, Site::kHost, 8000, "/usr/bin/carve");
    auto inside = EngineCommandFor(s, Site::kContainer, 8000, "/usr/bin/carve");
    ASSERT_TRUE(host.ok() && inside.ok()) << EngineName(kind);
    std::vector<std::string> want = host->args;
    std::replace(want.begin(), want.end(), std::string("127.0.0.1"), std::string("0.0.0.0"));
    EXPECT_EQ(inside->args, want) << EngineName(kind);
  }
  EXPECT_TRUE(EngineCommandFor(Spec(EngineKind::kVllm), Site::kContainer, 1)->program.empty());
  EXPECT_TRUE(EngineCommandFor(Spec(EngineKind::kLlamaCpp), Site::kContainer, 1)->program.empty());
  EXPECT_THAT(EngineCommandFor(Spec(EngineKind::kSglang), Site::kContainer, 1)->program,
              ElementsAre("python3", "-m", "sglang.launch_server"));
  EXPECT_THAT(EngineCommandFor(Spec(EngineKind::kEcho), Site::kContainer, 1, "/x/carve")->program,
              ElementsAre("carve", "engine", "echo"));
}

TEST(Engine, AnEngineOnSeveralGpusIsToldHowMany) {
  ReplicaSpec s = Spec(EngineKind::kVllm);
  s.tensor_parallel = 2;
  EXPECT_THAT(EngineCommandFor(s, Site::kContainer, 1)->args,
              testing::IsSupersetOf({"--tensor-parallel-size", "2"}));
  s.engine = EngineKind::kSglang;
  EXPECT_THAT(EngineCommandFor(s, Site::kContainer, 1)->args, testing::IsSupersetOf({"--tp", "2"}));
}

// Rendered for Kubernetes, a replica has no slice yet: {uuid} cannot be filled in.
TEST(Engine, UuidWithoutASliceIsAnError) {
  ReplicaSpec s = Spec(EngineKind::kCommand);
  s.command = {"./serve.sh", "--device={uuid}"};
  s.uuid.clear();
  auto c = EngineCommandFor(s, Site::kContainer, 8000);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("{uuid} in \"--device={uuid}\" has no value"));
  EXPECT_THAT(c.status().hint(), HasSubstr("CUDA device 0"));
}

TEST(Engine, ImagesComeFromTheSpecElseTheEngine) {
  ReplicaSpec s = Spec(EngineKind::kVllm);
  EXPECT_EQ(ImageFor(s), "vllm/vllm-openai:v0.10.2");
  s.image = "registry.example.com/vllm:1";
  EXPECT_EQ(ImageFor(s), "registry.example.com/vllm:1");
  EXPECT_EQ(DefaultImage(EngineKind::kEcho), "");
  EXPECT_EQ(HealthPath(DefaultProbe(EngineKind::kCommand)), "/health");
}

TEST(Engine, NamesRoundTrip) {
  for (auto k : {EngineKind::kVllm, EngineKind::kLlamaCpp, EngineKind::kSglang,
                 EngineKind::kCommand, EngineKind::kEcho}) {
    auto parsed = ParseEngine(EngineName(k));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, k);
  }
  EXPECT_THAT(ParseEngine("tgi").status().hint(), HasSubstr("llama.cpp"));
}

TEST(Engine, FractionsPrintShortest) {
  EXPECT_EQ(FormatFraction(0.9), "0.9");
  EXPECT_EQ(FormatFraction(0.85), "0.85");
  EXPECT_EQ(FormatFraction(1), "1");
}

}  // namespace
}  // namespace carve::serve
