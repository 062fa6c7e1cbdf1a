#include "serve/docker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace carve::serve {
namespace {

using ::testing::HasSubstr;

std::vector<ReplicaSpec> Fleet() {
  ReplicaSpec vllm;
  vllm.id = "qwen3-4b/0";
  vllm.model = "qwen3-4b";
  vllm.engine = EngineKind::kVllm;
  vllm.source = "Qwen/Qwen3-4B";
  vllm.uuid = "MIG-8d1f0c2e-1111-5000-8000-000000000001";
  vllm.args = {"--max-model-len", "8192"};
  ReplicaSpec vllm1 = vllm;
  vllm1.id = "qwen3-4b/1";
  vllm1.uuid = "MIG-2a77c0de-2222-5000-8000-000000000002";
  ReplicaSpec llama;
  llama.id = "phi-4-mini/0";
  llama.model = "phi-4-mini";
  llama.engine = EngineKind::kLlamaCpp;
  llama.source = "/srv/models/phi-4-mini-q4_k_m.gguf";
  llama.uuid = "MIG-c0e3aaaa-3333-5000-8000-000000000003";
  llama.args = {"-ngl", "99"};
  llama.port = 20001;  // fixed: the next replica without one skips it
  ReplicaSpec sglang;
  sglang.id = "llama-3.1-8b/0";
  sglang.model = "llama-3.1-8b";
  sglang.engine = EngineKind::kSglang;
  sglang.source = "meta-llama/Llama-3.1-8B-Instruct";
  sglang.uuid = "MIG-d00dbbbb-4444-5000-8000-000000000004";
  sglang.memory_fraction = 0.8;
  sglang.env = {{"SGLANG_LOG", "it's verbose"}};
  ReplicaSpec cmd;
  cmd.id = "resnet50/0";
  cmd.model = "resnet50";
  cmd.engine = EngineKind::kCommand;
  cmd.command = {"./serve.sh", "--port", "{port}", "--device", "{uuid}"};
  cmd.image = "registry.example.com/resnet-server:1.2";
  cmd.uuid = "MIG-e11ecccc-5555-5000-8000-000000000005";
  return {vllm, vllm1, llama, sglang, cmd};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Docker, RendersTheFleetAsInTheGoldenFile) {
  auto text = RenderDockerRun(Fleet());
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  std::string golden = std::string(CARVE_SOURCE_DIR) + "/tests/serve/golden/docker_run.sh";
  if (std::getenv("CARVE_UPDATE_GOLDEN")) std::ofstream(golden) << *text;
  EXPECT_EQ(*text, ReadFile(golden)) << "CARVE_UPDATE_GOLDEN=1 rewrites " << golden;
}

// The script, run by a real shell with `docker` replaced by a function that
// prints its argv one word per line: quoting must give back the intended words.
TEST(Docker, TheShellSeesTheIntendedWords) {
  auto text = RenderDockerRun(Fleet());
  ASSERT_TRUE(text.ok());
  std::string script = std::filesystem::temp_directory_path() /
                       ("carve-docker-test-" + std::to_string(::getpid()) + ".sh");
  std::ofstream(script) << "docker() { for w in \"$@\"; do printf '%s\\n' \"$w\"; done; "
                           "echo ---; }\nHOME=/home/u\nunset HF_HOME\n"
                        << text->substr(text->find('\n') + 1);
  FILE* p = ::popen(("/bin/sh " + script).c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << out;
  std::filesystem::remove(script);
  EXPECT_THAT(out, HasSubstr("--gpus\ndevice=MIG-8d1f0c2e-1111-5000-8000-000000000001\n-p\n"
                             "127.0.0.1:20000:8000\n--ipc=host\n"));
  EXPECT_THAT(out,
              HasSubstr("MIG-2a77c0de-2222-5000-8000-000000000002\n-p\n127.0.0.1:20002:8000\n"));
  EXPECT_THAT(out,
              HasSubstr("MIG-c0e3aaaa-3333-5000-8000-000000000003\n-p\n127.0.0.1:20001:8000\n"));
  EXPECT_THAT(out, HasSubstr("-v\n/home/u/.cache/huggingface:/root/.cache/huggingface\n"));
  EXPECT_THAT(out, HasSubstr("--health-cmd\npython3 -c \"import sys, urllib.request as u; "
                             "u.urlopen(sys.argv[1], timeout=5)\" http://127.0.0.1:8000/health\n"));
  EXPECT_THAT(out, HasSubstr("-e\nSGLANG_LOG=it's verbose\n"));
  EXPECT_THAT(out, HasSubstr("-v\n/srv/models:/models:ro\n"));
  EXPECT_THAT(out, HasSubstr("-m\n/models/phi-4-mini-q4_k_m.gguf\n"));
  EXPECT_THAT(out, HasSubstr("--health-cmd\ncurl -fsS http://127.0.0.1:8000/health\n"));
  EXPECT_THAT(out, HasSubstr("./serve.sh\n--port\n8000\n--device\n"
                             "MIG-e11ecccc-5555-5000-8000-000000000005\n---"));
}

TEST(Docker, EnginesWithoutAnImageAreNamed) {
  ReplicaSpec echo;
  echo.id = "demo/0";
  echo.model = "demo";
  echo.engine = EngineKind::kEcho;
  echo.uuid = "MIG-1";
  auto text = RenderDockerRun({echo});
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("model demo: engine echo has no container image"));
  echo.image = "carve:0.1";
  EXPECT_TRUE(RenderDockerRun({echo}).ok());
}

TEST(Docker, ShellQuoting) {
  EXPECT_EQ(ShellQuote("Qwen/Qwen3-4B"), "Qwen/Qwen3-4B");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("$HOME"), "'$HOME'");
}

}  // namespace
}  // namespace carve::serve
