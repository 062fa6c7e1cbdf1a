#include "up/up.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/atomic_file.h"

namespace carve::up {
namespace {

namespace fs = std::filesystem;

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

TEST(UpStateDir, AtomicWriteAndNoServiceRunning) {
  fs::path dir = fs::temp_directory_path() / ("carve-up-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ASSERT_TRUE(WriteFileAtomically((dir / "status.json").string(), "{}\n", false).ok());
  std::ifstream in(dir / "status.json");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "{}\n");
  EXPECT_EQ(RunningPid(dir.string()), 0);  // no up.pid
  {
    std::ofstream pid(dir / "up.pid");
    pid << "999999999\n";  // no such process
  }
  EXPECT_EQ(RunningPid(dir.string()), 0);
  EXPECT_EQ(ReadStatus(dir.string()).status().code(), Code::kNotFound);
  auto down = Down(dir.string(), std::chrono::seconds(1));
  ASSERT_TRUE(down.ok());
  EXPECT_NE(down->find("not running"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace carve::up
