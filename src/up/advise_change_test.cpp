#include "up/advise_change.h"

#include <gtest/gtest.h>

#include "device/sim/sim_machine.h"

namespace carve::up {
namespace {

using Json = nlohmann::ordered_json;

// One H100 with 1g.10gb slices at 4, 5 and 6: hot/0 on 4, idle/0 and idle/1
// on 5 and 6, as the status of a running carve up says.
struct Running {
  std::vector<device::Gpu> gpus;
  Json status;
};

Running HotAndIdle() {
  const mig::GpuModel* h100 = mig::Catalog::Builtin().Find("h100-80gb");
  auto state = device::sim::NewState({h100}, true, 1);
  EXPECT_TRUE(state.ok());
  auto m = device::sim::SimMachine::InMemory(*state);
  Running out;
  out.status = {{"replicas", Json::array()}};
  const char* who[] = {"hot/0", "idle/0", "idle/1"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(m->CreateGpuInstance(0, h100->FindProfile("1g.10gb")->id, 4 + i).ok());
    std::string id = who[i];
    out.status["replicas"].push_back({{"id", id},
                                      {"model", id.substr(0, id.find('/'))},
                                      {"gpu", 0},
                                      {"profile", "1g.10gb"},
                                      {"start", 4 + i}});
  }
  out.gpus = *m->Gpus();
  return out;
}

spec::Spec Advised(int hot, int idle) {
  auto s = spec::ParseSpec(
      "version: v1\nmodels:\n"
      "  - {name: hot, engine: echo, memory: 9GiB, replicas: " +
          std::to_string(hot) +
          "}\n"
          "  - {name: idle, engine: echo, memory: 9GiB, replicas: " +
          std::to_string(idle) + "}\n",
      "carve.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

std::map<std::string, int> Count(const ChangePreview& c) {
  std::map<std::string, int> n;
  for (const auto& r : c.changes) ++n[r.action];
  return n;
}

TEST(PreviewChange, GrowingOneModelAndShrinkingAnotherKeepsTheRestRunning) {
  Running r = HotAndIdle();
  auto c = PreviewChange(Advised(3, 1), r.gpus, r.status);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->fits);
  EXPECT_EQ(Count(*c), (std::map<std::string, int>{{"keep", 2}, {"start", 2}, {"stop", 1}}));
  for (const auto& ch : c->changes) {
    if (ch.action == "keep") EXPECT_EQ(ch.from, ch.to);
    if (ch.action == "start") EXPECT_EQ(ch.model, "hot");
    if (ch.action == "stop") EXPECT_EQ(ch.model, "idle");
  }
  EXPECT_TRUE(c->waiting.empty());  // each model keeps a ready replica throughout
  EXPECT_EQ(c->gpus_before, std::vector<int>{0});
  EXPECT_EQ(c->gpus_after, std::vector<int>{0});
}

TEST(PreviewChange, NothingAdvisedChangesNothing) {
  Running r = HotAndIdle();
  auto c = PreviewChange(Advised(1, 2), r.gpus, r.status);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(Count(*c), (std::map<std::string, int>{{"keep", 3}}));
}

TEST(PreviewChange, TooManySaysHowManyMoreGpusWouldServeThem) {
  Running r = HotAndIdle();
  // Seven 1g.10gb slices per H100: 9 + 1 replicas need a second one.
  auto c = PreviewChange(Advised(9, 1), r.gpus, r.status);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->fits);
  EXPECT_FALSE(c->plan.unmet.empty());
  EXPECT_EQ(c->more_gpus, 1);
  EXPECT_EQ(c->more_like, 0);
  EXPECT_TRUE(c->changes.empty());
}

}  // namespace
}  // namespace carve::up
