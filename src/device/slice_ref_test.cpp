#include "device/slice_ref.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace carve::device {
namespace {

using ::testing::HasSubstr;

std::vector<Gpu> OneGpu() {
  Gpu g;
  g.index = 0;
  g.uuid = "GPU-0";
  g.mig.current = true;
  GpuInstance gi;
  gi.id = 2;
  gi.profile = "3g.40gb";
  gi.placement.start = 4;
  gi.compute_instances.push_back(ComputeInstance{});
  gi.compute_instances[0].uuid = "MIG-abc";
  g.gpu_instances.push_back(gi);
  return {g};
}

TEST(SliceRef, ParsesSlicesAndWholeGpusAndSaysWhatToWrite) {
  auto r = ParseSliceRef("1:3g.40gb@4");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gpu, 1);
  EXPECT_EQ(r->profile, "3g.40gb");
  EXPECT_EQ(r->start, 4);
  EXPECT_EQ(r->str(), "1:3g.40gb@4");
  auto whole = ParseSliceRef("2");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->str(), "2");
  for (const char* bad : {"", "x", "0:3g.40gb", "0:@4", "a:3g.40gb@4", "0:3g.40gb@x"}) {
    auto b = ParseSliceRef(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_THAT(b.status().hint(), HasSubstr("GPU:PROFILE@START")) << bad;
  }
}

TEST(SliceRef, FindsTheUuidNowOrSaysWhatTheGpuHolds) {
  std::vector<Gpu> gpus = OneGpu();
  auto found = FindSlice(gpus, {0, "3g.40gb", 4});
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->uuid, "MIG-abc");
  EXPECT_EQ(found->gi->id, 2);
  EXPECT_EQ(FindSlice(OneGpu(), {0, "", 0})->uuid, "GPU-0");
  auto missing = FindSlice(OneGpu(), {0, "3g.40gb", 0});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("GPU 0 has no 3g.40gb@0 now (3g.40gb@4)"));
  EXPECT_THAT(FindSlice(OneGpu(), {3, "", 0}).status().message(), HasSubstr("no GPU 3"));
}

}  // namespace
}  // namespace carve::device
