#include "device/gpu_ref.h"

#include <gtest/gtest.h>

namespace carve::device {
namespace {

std::vector<Gpu> ThreeGpus() {
  std::vector<Gpu> gpus(3);
  const char* uuids[] = {"GPU-5f0c1a2b-0000-1111-2222-333344445555",
                         "GPU-5f0d9e8f-0000-1111-2222-333344445555",
                         "GPU-a1b2c3d4-0000-1111-2222-333344445555"};
  const char* pci[] = {"00000000:17:00.0", "00000000:65:00.0", "00000001:CA:00.0"};
  for (int i = 0; i < 3; ++i)
    gpus[i] = {.index = i, .uuid = uuids[i], .name = "H100", .pci_bus_id = pci[i]};
  return gpus;
}

std::vector<int> Resolve(std::vector<std::string> refs) {
  auto r = ResolveGpuRefs(ThreeGpus(), refs);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<int>{};
}

TEST(GpuRef, IndexUuidAndItsUniquePrefix) {
  EXPECT_EQ(Resolve({"2"}), std::vector<int>{2});
  EXPECT_EQ(Resolve({"GPU-5f0d9e8f-0000-1111-2222-333344445555"}), std::vector<int>{1});
  EXPECT_EQ(Resolve({"GPU-A1"}),
            std::vector<int>{2});  // nvidia-smi prints lower case; any case fits
  EXPECT_EQ(Resolve({"gpu-5f0c"}), std::vector<int>{0});
}

TEST(GpuRef, PciBusIdInEveryFormNvidiaSmiTakes) {
  EXPECT_EQ(Resolve({"00000000:65:00.0"}), std::vector<int>{1});
  EXPECT_EQ(Resolve({"0000:65:00.0"}), std::vector<int>{1});
  EXPECT_EQ(Resolve({"65:00.0"}), std::vector<int>{1});
  EXPECT_EQ(Resolve({"65:00"}), std::vector<int>{1});
  EXPECT_EQ(Resolve({"1:ca:00.0"}), std::vector<int>{2});
  EXPECT_EQ(ResolveGpuRefs(ThreeGpus(), {"ca:00.0"}).status().code(), Code::kNotFound);  // domain 0
}

TEST(GpuRef, ListsKeepTheirOrderAndNameEachGpuOnce) {
  EXPECT_EQ(Resolve({"2", "0"}), (std::vector<int>{2, 0}));
  EXPECT_EQ(Resolve({"1", "GPU-5f0d", "65:00.0", "0"}), (std::vector<int>{1, 0}));
}

TEST(GpuRef, AnAmbiguousPrefixNamesTheGpusItFits) {
  auto r = ResolveGpuRefs(ThreeGpus(), {"GPU-5f0"});
  ASSERT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "-i GPU-5f0 fits 2 GPUs: GPU 0, GPU 1");
  EXPECT_NE(r.status().hint().find("Give more of the UUID"), std::string::npos);
}

TEST(GpuRef, AnUnknownGpuListsTheOnesThere) {
  for (std::string ref : {"7", "GPU-ffff", "00000000:99:00.0"}) {
    auto r = ResolveGpuRefs(ThreeGpus(), {"0", ref});
    ASSERT_EQ(r.status().code(), Code::kNotFound) << ref;
    EXPECT_EQ(r.status().message(), "no GPU " + ref + " on this machine");
    EXPECT_NE(
        r.status().hint().find("1  GPU-5f0d9e8f-0000-1111-2222-333344445555  00000000:65:00.0"),
        std::string::npos)
        << r.status().hint();
  }
}

TEST(GpuRef, SomethingOfNoFormIsAUsageError) {
  for (std::string ref : {"", "h100", "-1", "65:zz.0", "1:2:3:4", "123456789"}) {
    auto r = ResolveGpuRefs(ThreeGpus(), {ref});
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << ref;
  }
}

}  // namespace
}  // namespace carve::device
