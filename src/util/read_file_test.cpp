#include "util/read_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace carve {
namespace {

namespace fs = std::filesystem;

class ReadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("carve-read-file-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, size_t bytes) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << std::string(bytes, 'x');
    return path;
  }
  static bool Says(const Status& s, const std::string& text) {
    return s.message().find(text) != std::string::npos;
  }
  fs::path dir_;
};

TEST_F(ReadFile, ReadsAFileUpToTheBound) {
  auto text = ReadFileBounded(Write("ok", 1024), 1024, "spec");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(text->size(), 1024u);
}

TEST_F(ReadFile, RefusesAFileLargerThanTheBoundNamingItAndTheBound) {
  std::string path = Write("big", 1025);
  auto text = ReadFileBounded(path, 1024, "spec");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Says(text.status(), "spec " + path + " is larger than 1 KiB"))
      << text.status().message();
  EXPECT_FALSE(text.status().hint().empty());
}

TEST_F(ReadFile, RefusesAnEndlessDeviceAtOnce) {
  auto text = ReadFileBounded("/dev/zero", kMaxConfigBytes, "layout file");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Says(text.status(), "layout file /dev/zero is not a regular file"))
      << text.status().message();
}

// A FIFO with no writer would block a plain open(2) forever.
TEST_F(ReadFile, RefusesAFifoWithoutWaitingForAWriter) {
  std::string path = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto text = ReadFileBounded(path, kMaxConfigBytes, "spec");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Says(text.status(), "not a regular file")) << text.status().message();
}

TEST_F(ReadFile, AMissingFileIsNotFound) {
  auto text = ReadFileBounded((dir_ / "nope").string(), kMaxConfigBytes, "spec");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Code::kNotFound);
  EXPECT_TRUE(Says(text.status(), "cannot read spec")) << text.status().message();
}

TEST_F(ReadFile, ADirectoryIsRefusedAsSuch) {
  auto text = ReadFileBounded(dir_.string(), kMaxConfigBytes, "spec");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Says(text.status(), "is a directory")) << text.status().message();
}

TEST_F(ReadFile, TheHeadOfALargeFileComesWithItsSize) {
  uint64_t size = 0;
  auto head = ReadFileHead(Write("model.gguf", 5000), 1024, "GGUF file", &size);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size(), 1024u);
  EXPECT_EQ(size, 5000u);
  EXPECT_FALSE(ReadFileHead("/dev/zero", 1024, "GGUF file", &size).ok());
}

}  // namespace
}  // namespace carve
