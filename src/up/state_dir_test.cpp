#include "up/state_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/atomic_file.h"

namespace carve::up {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / (name + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(UpStateDir, AtomicWriteAndNoServiceRunning) {
  fs::path dir = TempDir("carve-up-test-");
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

TEST(UpStateDir, StatusOfAnotherVersionIsRefusedWithWhatToDo) {
  fs::path dir = TempDir("carve-up-version-");
  ASSERT_TRUE(WritePid(dir.string()).ok());  // this process: a running service
  EXPECT_EQ(RunningPid(dir.string()), ::getpid());
  EXPECT_EQ(ReadStatus(dir.string()).status().code(), Code::kUnavailable);  // no status yet
  ASSERT_TRUE(WriteStatus(dir.string(), R"({"version": "v1", "replicas": []})").ok());
  EXPECT_TRUE(ReadStatus(dir.string()).ok());
  // What a service started by an earlier carve writes (the number 1) still reads.
  ASSERT_TRUE(WriteStatus(dir.string(), R"({"version": 1, "replicas": []})").ok());
  EXPECT_TRUE(ReadStatus(dir.string()).ok());
  ASSERT_TRUE(WriteStatus(dir.string(), R"({"version": 2, "replicas": []})").ok());
  auto st = ReadStatus(dir.string());
  EXPECT_EQ(st.status().code(), Code::kInvalidArgument);
  EXPECT_NE(st.status().message().find("status version 2"), std::string::npos);
  RemovePid(dir.string());
  EXPECT_EQ(RunningPid(dir.string()), 0);
  fs::remove_all(dir);
}

TEST(UpStateDir, ReloadRequestAndResult) {
  fs::path dir = TempDir("carve-up-reload-");
  EXPECT_EQ(ReadReloadRequest(dir.string(), "/same.yaml").spec, "/same.yaml");  // none: same spec
  ASSERT_TRUE(WriteFileAtomically((dir / "reload.request").string(),
                                  R"({"spec": "/new.yaml", "nonce": "n1"})", false)
                  .ok());
  ReloadRequest req = ReadReloadRequest(dir.string(), "/same.yaml");
  EXPECT_EQ(req.spec, "/new.yaml");
  EXPECT_EQ(req.nonce, "n1");
  EXPECT_EQ(req.rebalance, "");  // a plain reload
  ASSERT_TRUE(WriteFileAtomically((dir / "reload.request").string(),
                                  R"({"spec": "/new.yaml", "nonce": "n2", "rebalance": "fresh"})",
                                  false)
                  .ok());
  EXPECT_EQ(ReadReloadRequest(dir.string(), "/same.yaml").rebalance, "fresh");
  WriteReloadResult(dir.string(), req, Status::InvalidArgument("bad spec"));
  std::ifstream in(dir / "reload.result");
  auto res = nlohmann::json::parse(in);
  EXPECT_EQ(res["nonce"], "n1");
  EXPECT_NE(res["error"].get<std::string>().find("bad spec"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace carve::up
