#include "apply/applied.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace carve::apply {
namespace {

namespace fs = std::filesystem;

std::string FreshDir() {
  std::string dir = ::testing::TempDir() + "/applied-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::remove_all(dir);
  return dir;
}

TEST(Applied, NothingRecordedIsNoRecord) {
  auto r = ReadApplied(FreshDir());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->has_value());
}

TEST(Applied, AnApplyKeepsTheBootUnitAndTheUnitCountsOnlyWhileItExists) {
  std::string dir = FreshDir();
  fs::create_directories(dir);
  std::string unit = dir + "/carve-apply.service";
  std::ofstream(unit) << "[Unit]\n";
  ASSERT_TRUE(RecordBootUnit(dir, "/l.yaml", unit).ok());
  device::Gpu on, off;
  on.uuid = "GPU-a", on.mig = {true, true}, on.gpu_instances.resize(3);
  off.uuid = "GPU-b";
  ASSERT_TRUE(RecordApplied(dir, "/l.yaml", {on, off}).ok());
  auto r = ReadApplied(dir);
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status().ToString();
  EXPECT_EQ((*r)->layout, "/l.yaml");
  ASSERT_EQ((*r)->gpus.size(), 1u);
  EXPECT_EQ((*r)->gpus[0].uuid, "GPU-a");
  EXPECT_EQ((*r)->gpus[0].slices, 3);
  EXPECT_TRUE((*r)->boot_unit);
  fs::remove(unit);
  EXPECT_FALSE((*ReadApplied(dir))->boot_unit);
}

// Issue #14.2: written as "v1"; a record an earlier carve wrote still reads.
TEST(Applied, ReadsItsVersionAndTheOldSpelling) {
  std::string dir = FreshDir();
  ASSERT_TRUE(RecordApplied(dir, "/l.yaml", {}).ok());
  std::ifstream in(dir + "/applied.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("\"version\": \"v1\""), std::string::npos) << text;
  std::ofstream(dir + "/applied.json")
      << "{\"version\": \"carve-applied/v1\", \"layout\": \"/old.yaml\", \"gpus\": [],\n"
         "\"boot_unit\": null}";
  auto r = ReadApplied(dir);
  ASSERT_TRUE(r.ok() && r->has_value()) << r.status().ToString();
  EXPECT_EQ((*r)->layout, "/old.yaml");
  std::ofstream(dir + "/applied.json") << "{\"version\": \"v2\", \"gpus\": []}";
  EXPECT_EQ(ReadApplied(dir).status().code(), Code::kInvalidArgument);
}

TEST(Applied, ACorruptRecordSaysHowToMoveOn) {
  std::string dir = FreshDir();
  fs::create_directories(dir);
  std::ofstream(dir + "/applied.json") << "{\"version\": \"carve-applied/v1\", \"gpus\": 7}";
  auto r = ReadApplied(dir);
  ASSERT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().hint().find("Remove it"), std::string::npos);
}

}  // namespace
}  // namespace carve::apply
