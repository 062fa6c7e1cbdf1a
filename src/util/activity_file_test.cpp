#include "util/activity_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace carve {
namespace {

namespace fs = std::filesystem;

class ActivityFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("carve-activity-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const char* name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(ActivityFile, CountsAddUpAcrossThreadsAndReadersSeeThem) {
  auto w = ActivityWriter::Open(Path("a"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) (*w)->Add(3, 16);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ReadActivity(Path("a")), (ActivityCounts{4000, 12000, 64000}));
  struct stat st {};
  ASSERT_EQ(::stat(Path("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(ActivityFile, ReopeningKeepsTheCounts) {
  { (*ActivityWriter::Open(Path("a")))->Add(1, 2); }
  (*ActivityWriter::Open(Path("a")))->Add(1, 2);
  EXPECT_EQ(ReadActivity(Path("a")), (ActivityCounts{2, 2, 4}));
}

TEST_F(ActivityFile, MissingOrForeignFilesReadAsZero) {
  EXPECT_EQ(ReadActivity(Path("none")), ActivityCounts{});
  std::ofstream(Path("text")) << "not an activity file, but long enough to map";
  EXPECT_EQ(ReadActivity(Path("text")), ActivityCounts{});
}

TEST_F(ActivityFile, AnUnwritableDirectoryIsAnIoError) {
  auto w = ActivityWriter::Open(Path("no/such/dir/a"));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kIo);
  EXPECT_NE(w.status().message().find("no/such/dir/a"), std::string::npos);
}

}  // namespace
}  // namespace carve
