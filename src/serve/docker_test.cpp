#include "serve/docker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace carve::serve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<ReplicaSpec> Fleet() {
  ReplicaSpec vllm;
  vllm.id = "qwen3-4b/0";
  vllm.model = "qwen3-4b";
  vllm.engine = EngineKind::kVllm;
  vllm.source = "Qwen/Qwen3-4B";
  vllm.uuid = "MIG-8d1f0c2e-1111-5000-8000-000000000001";
  vllm.args = {"--max-model-len", "8192"};
  vllm.slice = "0:3g.40gb@0";  // looked up when the script runs
  ReplicaSpec vllm1 = vllm;
  vllm1.id = "qwen3-4b/1";
  vllm1.uuid = "MIG-2a77c0de-2222-5000-8000-000000000002";
  vllm1.slice = "0:3g.40gb@4";
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
  cmd.slice = "1:1g.10gb@6";
  return {vllm, vllm1, llama, sglang, cmd};
}

// Runs `script` (its shebang line replaced by `prelude`) in /bin/sh; its
// exit status, and stdout and stderr in `out`.
int RunScript(const std::string& prelude, const std::string& script, std::string& out) {
  std::string path = std::filesystem::temp_directory_path() /
                     ("carve-docker-test-" + std::to_string(::getpid()) + ".sh");
  std::ofstream(path) << prelude << script.substr(script.find('\n') + 1);
  FILE* p = ::popen(("/bin/sh " + path + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) out.append(buf, n);
  int status = ::pclose(p);
  std::filesystem::remove(path);
  return status;
}

DockerOptions WithGateway() {
  DockerOptions o;
  o.carve_image = "ghcr.io/carve-project/carve:test";
  o.gateway_listen = "127.0.0.1:8000";
  o.gateway_config =
      "listen: 127.0.0.1:8000\nmodels:\n  - name: qwen3-4b\n    replicas: "
      "[http://127.0.0.1:20000]\n";
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Docker, RendersTheFleetAsInTheGoldenFile) {
  auto text = RenderDockerScript(Fleet(), WithGateway());
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  std::string golden = std::string(CARVE_SOURCE_DIR) + "/tests/serve/golden/docker_run.sh";
  if (std::getenv("CARVE_UPDATE_GOLDEN")) std::ofstream(golden) << *text;
  EXPECT_EQ(*text, ReadFile(golden)) << "CARVE_UPDATE_GOLDEN=1 rewrites " << golden;
}

// The script, run by a real shell with `docker` and carve replaced by
// functions that print their argv one word per line: quoting must give back
// the intended words, and each slice's UUID is the one looked up.
TEST(Docker, TheShellSeesTheIntendedWords) {
  auto text = RenderDockerScript(Fleet(), WithGateway());
  ASSERT_TRUE(text.ok());
  ASSERT_EQ(text->rfind("#!/bin/sh\n", 0), 0u) << "the shebang must come first";
  EXPECT_THAT(*text, HasSubstr("docker rm -f carve-qwen3-4b-0 >/dev/null 2>&1 || true\n"
                               "docker run -d --name carve-qwen3-4b-0 "));
  std::string out;
  ASSERT_EQ(RunScript("docker() { for w in \"$@\"; do printf '%s\\n' \"$w\"; done; echo ---; }\n"
                      "lookup() { echo \"MIG-now-$3\"; }\nCARVE=lookup\n"
                      "HOME=/home/u\nunset HF_HOME\n",
                      *text, out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("--gpus\ndevice=MIG-now-0:3g.40gb@0\n-p\n"
                             "127.0.0.1:20000:8000\n--ipc=host\n"));
  EXPECT_THAT(out, HasSubstr("device=MIG-now-0:3g.40gb@4\n-p\n127.0.0.1:20002:8000\n"));
  EXPECT_THAT(out,
              HasSubstr("MIG-c0e3aaaa-3333-5000-8000-000000000003\n-p\n127.0.0.1:20001:8000\n"));
  EXPECT_THAT(out, HasSubstr("-v\n/home/u/.cache/huggingface:/root/.cache/huggingface\n"));
  EXPECT_THAT(out, HasSubstr("--health-cmd\npython3 -c \"import sys, urllib.request as u; "
                             "u.urlopen(sys.argv[1], timeout=5)\" http://127.0.0.1:8000/health\n"));
  EXPECT_THAT(out, HasSubstr("-e\nSGLANG_LOG=it's verbose\n"));
  EXPECT_THAT(out, HasSubstr("-v\n/srv/models:/models:ro\n"));
  EXPECT_THAT(out, HasSubstr("--model\n/models/phi-4-mini-q4_k_m.gguf\n"));
  EXPECT_THAT(out, HasSubstr("--health-cmd\ncurl -fsS http://127.0.0.1:8000/health\n"));
  EXPECT_THAT(out, HasSubstr("./serve.sh\n--port\n8000\n--device\nMIG-now-1:1g.10gb@6\n---"));
  EXPECT_THAT(out, HasSubstr("--network\nhost\n-e\nCARVE_GATEWAY_CONFIG=listen: 127.0.0.1:8000\n"
                             "models:\n  - name: qwen3-4b\n    replicas: [http://127.0.0.1:20000]\n"
                             "\n--entrypoint\nsh\nghcr.io/carve-project/carve:"));
}

TEST(Docker, AMissingSliceStopsTheScriptBeforeAnyContainer) {
  auto text = RenderDockerScript(Fleet());
  ASSERT_TRUE(text.ok());
  std::string out;
  EXPECT_NE(RunScript("docker() { echo docker \"$@\"; }\n"
                      "lookup() { [ \"$3\" = 0:3g.40gb@4 ] && { echo 'carve: no slice' >&2; "
                      "return 6; }; echo MIG-x; }\nCARVE=lookup\n",
                      *text, out),
            0);
  EXPECT_THAT(out, HasSubstr("carve: no slice"));
  EXPECT_THAT(out, Not(HasSubstr("docker run")));
}

TEST(Docker, PortsComeFromTheRangeAndARangeTooSmallIsNamed) {
  std::vector<ReplicaSpec> fleet = Fleet();  // phi-4-mini/0 has 20001, fixed
  DockerOptions o;
  o.port_first = 20000;
  o.port_last = 20004;
  ASSERT_TRUE(AssignDockerPorts(fleet, o).ok());
  std::vector<int> ports;
  for (const auto& r : fleet) ports.push_back(*r.port);
  EXPECT_EQ(ports, (std::vector<int>{20000, 20002, 20001, 20003, 20004}));
  fleet = Fleet();
  o.port_last = 20003;
  Status s = AssignDockerPorts(fleet, o);
  EXPECT_EQ(s.code(), Code::kInsufficientResources);
  EXPECT_THAT(s.message(), HasSubstr("more host ports than 20000-20003 has"));
  EXPECT_THAT(s.hint(), HasSubstr("--engine-ports"));
}

TEST(Docker, EnginesWithoutAnImageAreNamed) {
  ReplicaSpec echo;
  echo.id = "demo/0";
  echo.model = "demo";
  echo.engine = EngineKind::kEcho;
  echo.uuid = "MIG-1";
  auto text = RenderDockerScript({echo});
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(), HasSubstr("model demo: engine echo has no container image"));
  echo.image = "carve:0.1";
  EXPECT_TRUE(RenderDockerScript({echo}).ok());
}

// carve up's launcher: the container in the foreground, removed when it
// ends, the engine flags EngineCommandFor gives a process, no CUDA_VISIBLE_DEVICES
// (the container sees its slice through --gpus).
TEST(Docker, CarveUpRunsTheContainerInTheForegroundWithTheEnginesOwnFlags) {
  ReplicaSpec r = Fleet()[0];
  r.launcher = Launcher::kDocker;
  ::setenv("HF_HOME", "/srv/hf", 1);
  auto l = BuildLaunch(r, 20007, "/usr/bin/carve");
  ::unsetenv("HF_HOME");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  std::vector<std::string> want = {"docker",
                                   "run",
                                   "--rm",
                                   "--name",
                                   "carve-qwen3-4b-0",
                                   "--gpus",
                                   "device=MIG-8d1f0c2e-1111-5000-8000-000000000001",
                                   "-p",
                                   "127.0.0.1:20007:8000",
                                   "--ipc=host",
                                   "-v",
                                   "/srv/hf:/root/.cache/huggingface",
                                   "-e",
                                   "HF_TOKEN",
                                   "vllm/vllm-openai:v0.10.2",
                                   "Qwen/Qwen3-4B",
                                   "--host",
                                   "0.0.0.0",
                                   "--port",
                                   "8000",
                                   "--served-model-name",
                                   "qwen3-4b",
                                   "--gpu-memory-utilization",
                                   "0.9",
                                   "--max-model-len",
                                   "8192"};
  auto inside = EngineCommandFor(r, Site::kContainer, 8000);
  ASSERT_TRUE(inside.ok());
  EXPECT_TRUE(std::equal(inside->args.begin(), inside->args.end(), want.end() - 11));
  EXPECT_EQ(l->argv, want);
  EXPECT_TRUE(l->env.empty());
  ReplicaSpec echo = r;
  echo.engine = EngineKind::kEcho;
  echo.image.clear();
  EXPECT_THAT(BuildLaunch(echo, 20007, "carve").status().message(),
              HasSubstr("engine echo has no container image"));
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
