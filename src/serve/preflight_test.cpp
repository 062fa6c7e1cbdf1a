#include "serve/preflight.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "serve/access.h"
#include "serve/fake_engine_test_util.h"

namespace carve::serve {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(Preflight, ParsesVersionsFromWhatProgramsPrint) {
  EXPECT_EQ(ParseVersion("INFO 05-01 platform.py:35] Automatically detected platform cuda.\n"
                         "0.11.0\n"),
            "0.11.0");
  EXPECT_EQ(ParseVersion("v0.9.2+cu128\n"), "0.9.2+cu128");
  EXPECT_EQ(ParseVersion("  0.24.0.dev12+g1a2b3c  \r\n"), "0.24.0.dev12+g1a2b3c");
  EXPECT_EQ(ParseVersion("usage: vllm [-h]\n"), "");
}

TEST(Preflight, ComparesReleasesByNumber) {
  EXPECT_TRUE(VersionBefore("0.23.1", "0.24"));
  EXPECT_TRUE(VersionBefore("0.9.2", "0.24"));
  EXPECT_TRUE(VersionBefore("0.11.0rc1", "0.24"));
  EXPECT_FALSE(VersionBefore("0.24.0", "0.24"));
  EXPECT_FALSE(VersionBefore("0.24.0.dev12+g1", "0.24"));
  EXPECT_FALSE(VersionBefore("1.0", "0.24"));
  EXPECT_FALSE(VersionBefore("", "0.24"));
}

// Stand-ins for engines in a directory the engine user can reach.
class PreflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip;
    user_ = testing::EngineUserOrSkipReason(skip);
    if (!skip.empty()) GTEST_SKIP() << skip;
    char tmpl[] = "/tmp/carve-preflight-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);
    fs::create_directories(dir_ + "/bin");
    fs::create_directories(dir_ + "/state");
    ::chmod((dir_ + "/bin").c_str(), 0755);
    ::chmod((dir_ + "/state").c_str(), 0755);
    options_.state_dir = dir_ + "/state";
    options_.carve_path = "/bin/true";
    options_.port_first = 24900;
    options_.port_last = 24999;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // A program `name` in bin/ with `body` as its text.
  void Program(const std::string& name, const std::string& body) {
    std::string path = dir_ + "/bin/" + name;
    std::ofstream(path) << body;
    ::chmod(path.c_str(), 0755);
  }
  // A `vllm` that prints `version` for --version.
  void Vllm(const std::string& version) {
    Program("vllm", "#!/bin/sh\n[ \"$1\" = --version ] && echo 'INFO starting' && echo " + version +
                        "\nexit 0\n");
  }
  ReplicaSpec Replica(EngineKind engine, const std::string& uuid = "MIG-") {
    ReplicaSpec r;
    r.id = "chat";
    r.model = "chat";
    r.engine = engine;
    r.source = "Qwen/Qwen3-4B";
    r.uuid = uuid;
    r.user = user_;
    r.env["PATH"] = dir_ + "/bin:/usr/bin:/bin";
    return r;
  }
  std::string dir_, user_;
  PreflightOptions options_;
};

TEST_F(PreflightTest, AnOldVllmOnAMigSliceIsRefusedWithTheFix) {
  Vllm("0.20.1");
  Status s = Preflight({Replica(EngineKind::kVllm)}, options_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNotSupported);
  EXPECT_THAT(s.message(), HasSubstr("model chat: vLLM 0.20.1 (" + dir_ + "/bin/vllm) crashes"));
  EXPECT_THAT(s.message(), HasSubstr("vllm-project/vllm#41848"));
  EXPECT_THAT(s.message(), HasSubstr("pip install -U 'vllm>=0.24'"));
  EXPECT_THAT(s.message(), HasSubstr("launcher: docker"));
  EXPECT_THAT(s.hint(), HasSubstr("Nothing was changed"));
}

TEST_F(PreflightTest, AnOldVllmOnAWholeGpuAndANewOneOnASliceStart) {
  Vllm("0.20.1");
  EXPECT_TRUE(Preflight({Replica(EngineKind::kVllm, "GPU-1")}, options_).ok());
  Vllm("0.24.1");
  Status s = Preflight({Replica(EngineKind::kVllm)}, options_);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(PreflightTest, InADockerContainerTheHostsVllmDoesNotCountButTheImageMustBeHere) {
  Vllm("0.20.1");
  Program("docker",
          "#!/bin/sh\n[ \"$1 $2\" = 'image inspect' ] || exit 0\n"
          "grep -qx \"$5\" " +
              dir_ +
              "/images && exit 0\n"
              "echo \"Error response from daemon: No such image: $5\" >&2; exit 1\n");
  std::ofstream(dir_ + "/images") << "other:1\n";
  ReplicaSpec r = Replica(EngineKind::kVllm);
  r.launcher =
      Launcher::kDocker;  // the docker CLI gets carve's PATH; the model's env is the container's
  std::string path = std::getenv("PATH");
  ::setenv("PATH", (dir_ + "/bin:" + path).c_str(), 1);
  Status s = Preflight({r}, options_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("1 problem would"));
  EXPECT_THAT(s.message(), HasSubstr("model chat: its image vllm/vllm-openai:v0.10.2 is not on "
                                     "this host (docker image inspect: Error response from "
                                     "daemon: No such image: vllm/vllm-openai:v0.10.2)"));
  EXPECT_THAT(s.message(), HasSubstr("docker pull vllm/vllm-openai:v0.10.2"));
  std::ofstream(dir_ + "/images") << "vllm/vllm-openai:v0.10.2\n";
  s = Preflight({r}, options_);
  ::setenv("PATH", path.c_str(), 1);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(PreflightTest, VllmVersionAsksAPythonScriptsPackageFirstThenTheProgram) {
  // A Python script whose interpreter has no vllm package: --version answers.
  Program("vllm",
          "#!/usr/bin/python3\nimport sys\nprint('0.22.0' if '--version' in sys.argv "
          "else 'serving')\n");
  auto user = ResolveEngineUser(user_);
  ASSERT_TRUE(user.ok());
  auto v =
      VllmVersion(dir_ + "/bin/vllm", {{"PATH", "/usr/bin:/bin"}}, *user, std::chrono::seconds(20));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "0.22.0");
}

TEST_F(PreflightTest, AVersionThatHangsTimesOut) {
  Program("vllm", "#!/bin/sh\nexec sleep 30\n");
  auto user = ResolveEngineUser(user_);
  ASSERT_TRUE(user.ok());
  auto v = VllmVersion(dir_ + "/bin/vllm", {{"PATH", "/usr/bin:/bin"}}, *user,
                       std::chrono::milliseconds(300));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kTimeout);
}

TEST_F(PreflightTest, AMissingProgramAndAMissingModelPathAreEachNamed) {
  ReplicaSpec llama = Replica(EngineKind::kLlamaCpp);
  llama.id = "phi";
  llama.source = dir_ + "/models/phi.gguf";
  Program("llama-server", "#!/bin/sh\n");
  ReplicaSpec vllm = Replica(EngineKind::kVllm);
  Status s = Preflight({vllm, llama}, options_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("2 problems"));
  EXPECT_THAT(s.message(), HasSubstr("model chat: vllm is not on the PATH the engine gets"));
  EXPECT_THAT(s.message(),
              HasSubstr("model phi: its model path " + dir_ + "/models/phi.gguf does not exist"));
}

TEST_F(PreflightTest, TooFewFreeEnginePortsAreRefused) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(24950);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  options_.port_first = options_.port_last = 24950;
  Status s = Preflight({Replica(EngineKind::kEcho)}, options_);
  ::close(fd);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("engine ports: 1 engine needs a port each, and only 0 of "
                                     "24950-24950 are free"));
  EXPECT_THAT(s.message(), HasSubstr("--engine-ports"));
}

// #13.5: a state directory under a private one (mktemp -d, /root): engines
// could not chdir into their working directories, after the slices changed.
TEST_F(PreflightTest, AStateDirTheEngineUserCannotReachNamesTheDirectoryAndTheFix) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root switches to another engine user";
  std::string priv = dir_ + "/private";
  fs::create_directories(priv + "/state");
  ::chmod(priv.c_str(), 0700);
  options_.state_dir = priv + "/state";
  Status s = Preflight({Replica(EngineKind::kEcho)}, options_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kNoPermission);
  EXPECT_THAT(s.message(),
              HasSubstr("state directory: the engine user carve cannot reach " + priv + "/state"));
  EXPECT_THAT(s.message(), HasSubstr(priv + " (0700 root:root) is not searchable"));
  EXPECT_THAT(s.message(), HasSubstr("chmod o+x " + priv));
  ::chmod(priv.c_str(), 0755);
  EXPECT_TRUE(Preflight({Replica(EngineKind::kEcho)}, options_).ok());
}

TEST_F(PreflightTest, AModelTheEngineUserCannotReadIsNamed) {
  if (::geteuid() != 0) GTEST_SKIP() << "only root switches to another engine user";
  std::string models = dir_ + "/models";
  fs::create_directories(models);
  std::ofstream(models + "/phi.gguf") << "GGUF";
  ::chmod(models.c_str(), 0700);
  Program("llama-server", "#!/bin/sh\n");
  ReplicaSpec llama = Replica(EngineKind::kLlamaCpp);
  llama.source = models + "/phi.gguf";
  Status s = Preflight({llama}, options_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("cannot reach " + models + "/phi.gguf (its model): " + models +
                                     " (0700 root:root)"));
}

TEST(CreateSearchableDirs, MakesEveryNewDirectoryPassableWhateverTheUmask) {
  char tmpl[] = "/tmp/carve-dirs-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  mode_t old = ::umask(077);
  Status s = CreateSearchableDirs(std::string(tmpl) + "/a/b");
  ::umask(old);
  ASSERT_TRUE(s.ok()) << s.ToString();
  struct stat st {};
  ::stat((std::string(tmpl) + "/a").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ::stat((std::string(tmpl) + "/a/b").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace carve::serve
