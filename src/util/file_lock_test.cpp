#include "util/file_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace carve {
namespace {

TEST(FileLock, SecondHolderIsBusyAndToldWhoHoldsIt) {
  std::string path =
      std::filesystem::temp_directory_path() / ("carve-lock-test-" + std::to_string(::getpid()));
  {
    auto first = FileLock::Acquire(path, false);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    first->Note("pid 1, carve apply x.yaml");
    auto second = FileLock::Acquire(path, false);  // a second open file: flock refuses it
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), Code::kBusy);
    EXPECT_NE(second.status().message().find("carve apply x.yaml"), std::string::npos);
  }
  EXPECT_TRUE(FileLock::Acquire(path, false).ok());  // released with the first
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace carve
