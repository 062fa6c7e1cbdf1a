#include "device/refusals.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

namespace carve::device {
namespace {

using ::testing::HasSubstr;

constexpr int kKinds = static_cast<int>(Refusal::kModeChangeInUse) + 1;

// Every kind has its own words, with every placeholder filled in.
TEST(Refusals, EveryKindHasItsWords) {
  RefusalFacts f;
  f.gpu = 0;
  f.gpu_model = "H100 80GB SXM";
  f.count = 2;
  f.list = "1, 2";
  std::set<std::string> seen;
  for (int k = 0; k < kKinds; ++k) {
    Status s = Refuse(static_cast<Refusal>(k), f);
    EXPECT_FALSE(s.ok()) << k;
    EXPECT_EQ(s.message().find('{'), std::string::npos) << s.message();
    EXPECT_EQ(s.hint().find('{'), std::string::npos) << s.hint();
    EXPECT_TRUE(seen.insert(s.message()).second) << "kind " << k << " has another's words";
  }
}

TEST(Refusals, NothingToListHasItsOwnHint) {
  RefusalFacts f;
  f.gpu = 3;
  f.gpu_model = "H100 80GB SXM";
  f.gpu_instance = 5;
  EXPECT_EQ(Refuse(Refusal::kNoGpuInstance, f).hint(), "It has no GPU instances.");
  f.list = "1, 2";
  EXPECT_EQ(Refuse(Refusal::kNoGpuInstance, f).hint(), "Its GPU instances: 1, 2.");
  RefusalFacts gpus;
  gpus.gpu = 9;
  EXPECT_EQ(Refuse(Refusal::kNoGpu, gpus).hint(), "This machine has no GPUs.");
  gpus.count = 4;
  EXPECT_EQ(Refuse(Refusal::kNoGpu, gpus).hint(), "This machine has GPUs 0–3; see `carve gpus`.");
  EXPECT_EQ(Refuse(Refusal::kNoGpu, gpus).code(), Code::kNotFound);
}

TEST(Refusals, WordsNameTheFacts) {
  RefusalFacts f;
  f.gpu = 1;
  f.gpu_model = "A100 80GB";
  f.gpu_instance = 2;
  f.profile = "1c.3g.40gb";
  f.start = 2;
  Status s = Refuse(Refusal::kNoRoomForComputeInstance, f);
  EXPECT_EQ(s.code(), Code::kInsufficientResources);
  EXPECT_EQ(s.message(),
            "no room for a 1c.3g.40gb compute instance in GPU instance 2 on GPU 1 at 2");
  f.enable = false;
  f.list = ProcessText(4121, "vllm", 39117);
  EXPECT_EQ(Refuse(Refusal::kModeChangeInUse, f).message(),
            "GPU 1 (A100 80GB) is in use by process 4121 (vllm, 38.2 GiB)");
  EXPECT_THAT(Refuse(Refusal::kModeChangeInUse, f).hint(), HasSubstr("carve mig disable -i 1"));
}

}  // namespace
}  // namespace carve::device
