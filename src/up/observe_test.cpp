#include "up/observe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "device/sim/sim_machine.h"
#include "device/slices.h"
#include "mig/profile_ref.h"

namespace carve::up {
namespace {

using ::testing::HasSubstr;

// An H100 with 4g.40gb@0 and three 1g.10gb at 4-6 (unit 7 stranded), one
// replica on the 4g slice, and an A100 with MIG on and nothing on it.
MachineView View() {
  auto& cat = mig::Catalog::Builtin();
  auto state = device::sim::NewState({cat.Find("h100-80gb"), cat.Find("a100-80gb")}, true, 3);
  auto m = device::sim::SimMachine::InMemory(*state);
  auto gpu = m->GetGpu(0);
  auto reqs = mig::ParseSliceList(*gpu->model, "4g.40gb@0,1g.10gb@4,1g.10gb@5,1g.10gb@6");
  EXPECT_TRUE(device::CreateSlices(*m, *gpu, *reqs, false).ok());
  MachineView v{*m->Gpus(), {}, {}};
  const auto& four = v.gpus[0].gpu_instances.front();
  EXPECT_EQ(four.profile, "4g.40gb");
  v.replicas.push_back(
      {"chat/0", {"chat", "http://127.0.0.1:20001", "vllm", 0, four.id}, "ready", 2});
  v.utilisation[0] = {{four.id, device::Utilisation{0.5, 0.25, 0.125}, ""}};
  v.utilisation[1] = *m->ReadUtilisation(1);
  return v;
}

TEST(Observe, MetricsJoinSliceReplicaAndGpuFacts) {
  MachineView v = View();
  std::string t = MetricsText(v);
  const auto& four = v.gpus[0].gpu_instances.front();
  std::string labels = "gpu=\"0\",gpu_uuid=\"" + v.gpus[0].uuid +
                       "\",profile=\"4g.40gb\",placement=\"0:4\",mig_uuid=\"" +
                       four.compute_instances.front().uuid +
                       "\",model=\"chat\",engine=\"vllm\",replica=\"http://127.0.0.1:20001\"";
  EXPECT_THAT(t, HasSubstr("carve_slice_sm_active_ratio{" + labels + "} 0.5\n"));
  EXPECT_THAT(t, HasSubstr("carve_slice_tensor_active_ratio{" + labels + "} 0.125\n"));
  EXPECT_THAT(t, HasSubstr("carve_slice_memory_total_bytes{" + labels + "} " +
                           std::to_string(four.memory_total_mib << 20) + "\n"));
  EXPECT_THAT(t, HasSubstr("carve_engine_restarts_total{" + labels + "} 2\n"));
  EXPECT_THAT(t, HasSubstr("carve_engine_state{" + labels + ",state=\"ready\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("carve_engine_state{" + labels + ",state=\"crash-looping\"} 0\n"));
  EXPECT_THAT(
      t, HasSubstr("carve_gpu_stranded_units{gpu=\"0\",gpu_uuid=\"" + v.gpus[0].uuid + "\"} 1\n"));
  EXPECT_THAT(t, HasSubstr("carve_gpu_slices_free{gpu=\"1\",gpu_uuid=\"" + v.gpus[1].uuid +
                           "\",profile=\"1g.10gb\"} 7\n"));
  // A slice no replica uses keeps the label set, with the replica's labels empty.
  EXPECT_THAT(t, HasSubstr("profile=\"1g.10gb\",placement=\"4:1\""));
  EXPECT_THAT(t, HasSubstr("model=\"\",engine=\"\",replica=\"\"}"));
}

TEST(Observe, StatusPartsHaveTheShapeTheDashboardReads) {
  auto j = StatusParts(View());
  ASSERT_EQ(j["slices"].size(), 4u);  // the A100 has none
  const auto& four = j["slices"][0];
  EXPECT_EQ(four["profile"], "4g.40gb");
  EXPECT_EQ(four["placement"], "0:4");
  EXPECT_EQ(four["replicas"], nlohmann::ordered_json::array({"chat/0"}));
  EXPECT_EQ(four["utilisation"]["sm"], 0.5);
  EXPECT_EQ(four["utilisation"]["memory_bandwidth"], 0.25);
  EXPECT_TRUE(four["memory"].contains("used_bytes") && four["memory"].contains("total_bytes"));
  const auto& one = j["slices"][1];
  EXPECT_TRUE(one["utilisation"].is_null());
  EXPECT_EQ(one["utilisation_unavailable"], "not measured yet");
  EXPECT_EQ(j["stranded_units"]["0"], 1);
  EXPECT_EQ(j["stranded_units"]["1"], 0);
  EXPECT_EQ(j["fits"]["1g.10gb"], 7);  // all on the empty A100
  EXPECT_EQ(j["fits"]["7g.80gb"], 1);
  EXPECT_EQ(j["gpus"][1]["placement_units"], 8);
}

}  // namespace
}  // namespace carve::up
