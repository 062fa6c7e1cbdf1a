#include "serve/log_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace carve::serve {
namespace {

namespace fs = std::filesystem;

class LogFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("carve-log-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

TEST_F(LogFileTest, RotatesBySizeAndKeepsN) {
  auto log = RotatingLog::Open((dir_ / "engine.log").string(), LogOptions{100, 2});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int i = 0; i < 10; ++i)  // 10 writes of 40 bytes: a new file every 2 writes
    ASSERT_TRUE(log->Write(std::string(39, 'a' + i) + "\n").ok());
  EXPECT_EQ(Read("engine.log"), std::string(39, 'i') + "\n" + std::string(39, 'j') + "\n");
  EXPECT_EQ(Read("engine.log.1"), std::string(39, 'g') + "\n" + std::string(39, 'h') + "\n");
  EXPECT_EQ(Read("engine.log.2"), std::string(39, 'e') + "\n" + std::string(39, 'f') + "\n");
  EXPECT_FALSE(fs::exists(dir_ / "engine.log.3"));
  EXPECT_LE(fs::file_size(dir_ / "engine.log"), 100u);
}

TEST_F(LogFileTest, ReopeningAppendsAndCountsWhatIsThere) {
  std::string path = (dir_ / "engine.log").string();
  {
    auto log = RotatingLog::Open(path, LogOptions{100, 1});
    ASSERT_TRUE(log->Write(std::string(80, 'x')).ok());
  }
  auto log = RotatingLog::Open(path, LogOptions{100, 1});
  ASSERT_TRUE(log->Write(std::string(30, 'y')).ok());  // 80 + 30 > 100: rotate first
  EXPECT_EQ(Read("engine.log"), std::string(30, 'y'));
  EXPECT_EQ(Read("engine.log.1"), std::string(80, 'x'));
}

TEST_F(LogFileTest, TailReachesIntoTheRotatedFile) {
  auto log = RotatingLog::Open((dir_ / "engine.log").string(), LogOptions{20, 1});
  for (std::string line : {"one\n", "two\n", "three\n", "four\n", "five\n", "six\n"})
    ASSERT_TRUE(log->Write(line).ok());
  EXPECT_EQ(ReadLogTail(log->path(), 2), "five\nsix");
  EXPECT_EQ(ReadLogTail(log->path(), 4), "three\nfour\nfive\nsix");
  EXPECT_EQ(ReadLogTail((dir_ / "none.log").string(), 3), "");
}

TEST_F(LogFileTest, OpenFailureNamesThePath) {
  auto log = RotatingLog::Open((dir_ / "missing" / "engine.log").string(), LogOptions{});
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("missing/engine.log"), std::string::npos);
}

TEST_F(LogFileTest, ALinkInPlaceOfTheLogIsRefused) {
  std::ofstream(dir_ / "precious") << "keep";
  fs::create_symlink(dir_ / "precious", dir_ / "engine.log");
  auto log = RotatingLog::Open((dir_ / "engine.log").string(), LogOptions{});
  EXPECT_FALSE(log.ok());
  EXPECT_EQ(Read("precious"), "keep");
}

}  // namespace
}  // namespace carve::serve
