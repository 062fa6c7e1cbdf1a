#include "device/slices.h"

#include <gtest/gtest.h>

#include "device/sim/sim_machine.h"

namespace carve::device {
namespace {

// An H100 with a 3g.40gb slice split into three 1c compute instances.
std::unique_ptr<sim::SimMachine> ThreeComputeInstances() {
  auto s = sim::NewState({mig::Catalog::Builtin().Find("h100-80gb")}, true, 42);
  EXPECT_TRUE(s.ok());
  auto m = sim::SimMachine::InMemory(*s);
  auto gi = m->CreateGpuInstance(0, 9, 0);
  EXPECT_TRUE(gi.ok());
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(m->CreateComputeInstance(0, gi->id, 0, std::nullopt).ok());
  return m;
}

std::vector<int> CiIds(Machine& m) {
  std::vector<int> out;
  Gpu gpu = *m.GetGpu(0);
  for (const auto& ci : gpu.gpu_instances.at(0).compute_instances) out.push_back(ci.id);
  return out;
}

TEST(DestroyComputeInstances, NamedOnesGoAndTheGpuInstanceStays) {
  auto m = ThreeComputeInstances();
  auto r = DestroyComputeInstances(*m, *m->GetGpu(0), {1}, {0, 2}, false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->destroyed.size(), 2u);
  EXPECT_EQ(r->destroyed[0], "CI 0 (1c.3g.40gb) in 3g.40gb@0 (GI 1)");
  EXPECT_EQ(CiIds(*m), std::vector<int>{1});
}

TEST(DestroyComputeInstances, NoCiIdsMeansAllOfThem) {
  auto m = ThreeComputeInstances();
  ASSERT_TRUE(DestroyComputeInstances(*m, *m->GetGpu(0), {1}, {}, false).ok());
  EXPECT_TRUE(CiIds(*m).empty());
  EXPECT_EQ(m->GetGpu(0)->gpu_instances.size(), 1u);
}

TEST(DestroyComputeInstances, AnUnknownIdChangesNothing) {
  auto m = ThreeComputeInstances();
  auto r = DestroyComputeInstances(*m, *m->GetGpu(0), {1}, {0, 7}, false);
  ASSERT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "GPU 0: GPU instance 1 has no compute instance 7");
  EXPECT_EQ(DestroyComputeInstances(*m, *m->GetGpu(0), {4}, {}, false).status().code(),
            Code::kNotFound);
  EXPECT_EQ(CiIds(*m), (std::vector<int>{0, 1, 2}));
}

TEST(DestroyComputeInstances, AProcessOnOneBlocksOnlyThatOneUnlessForced) {
  auto m = ThreeComputeInstances();
  ASSERT_TRUE(m->Attach(0, 1, 1, {4121, "vllm", 2048, -1, -1, false}).ok());
  ASSERT_TRUE(DestroyComputeInstances(*m, *m->GetGpu(0), {1}, {0}, false).ok());
  auto r = DestroyComputeInstances(*m, *m->GetGpu(0), {1}, {}, false);
  ASSERT_EQ(r.status().code(), Code::kInUse);
  EXPECT_NE(r.status().message().find("process 4121 (vllm, 2.0 GiB) on CI 1"), std::string::npos);
  EXPECT_EQ(CiIds(*m), (std::vector<int>{1, 2}));
  r = DestroyComputeInstances(*m, *m->GetGpu(0), {1}, {}, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->stopped.size(), 1u);
  EXPECT_EQ(r->stopped[0].pid, 4121u);
  EXPECT_TRUE(CiIds(*m).empty());
}

}  // namespace
}  // namespace carve::device
