// Layout files: carve.yaml's gpus: section and mig-parted's v1 config, read
// against a simulated machine (2× H100 80GB, A100 80GB, L4), and written back.
#include "apply/layout_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "apply/changes.h"
#include "apply/mig_parted.h"
#include "apply/reconcile.h"
#include "device/sim/sim_machine.h"

namespace carve::apply {
namespace {

using device::sim::SimMachine;

class LayoutFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& cat = mig::Catalog::Builtin();
    auto state = device::sim::NewState(
        {cat.Find("h100-80gb"), cat.Find("h100-80gb"), cat.Find("a100-80gb"), cat.Find("l4")}, true,
        7);
    m_ = SimMachine::InMemory(*state);
  }
  std::vector<device::Gpu> Gpus() { return *m_->Gpus(); }
  Result<Layouts> Carve(const std::string& text) { return LoadCarveLayout(text, "c.yaml", Gpus()); }
  Result<Layouts> Parted(const std::string& text, const std::string& config) {
    return LoadMigParted(text, "p.yaml", config, Gpus());
  }
  std::string Error(const Result<Layouts>& r) { return r.ok() ? "(ok)" : r.status().message(); }
  void Apply(const Layouts& l) {
    auto plan = MakeChanges(Gpus(), l, false);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    ASSERT_TRUE(Reconciler(*m_, {}).Apply(*plan).status.ok());
  }
  bool NoOp(const Layouts& l) {
    auto plan = MakeChanges(Gpus(), l, false);
    return plan.ok() && plan->empty();
  }
  std::unique_ptr<SimMachine> m_;
};

std::string ReadExample(const std::string& rel) {
  std::ifstream in(std::string(CARVE_SOURCE_DIR) + "/examples/" + rel);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(LayoutFile, ReadsSelectorsModesStartsAndComputeInstances) {
  auto l = Carve(
      "version: v1\n"
      "gpus:\n"
      "  - index: 0\n"
      "    mig: on\n"
      "    slices: [3g.40gb@4, 2g.20gb, 1c.3g.40gb@0]\n"
      "  - uuid: " +
      Gpus()[1].uuid +
      "\n"
      "    slices: [{slice: 3g.40gb@0, compute: [1c, 2c]}, {slice: 1g.10gb@4, compute: []}]\n"
      "  - model: a100-80gb\n"
      "    mig: off\n");
  ASSERT_TRUE(l.ok()) << Error(l);
  ASSERT_EQ(l->size(), 3u);
  const auto& g0 = (*l)[0];
  EXPECT_TRUE(g0.mig);
  EXPECT_EQ(g0.source, "c.yaml:3");
  EXPECT_EQ(Describe(g0), "1c.3g.40gb@0, 3g.40gb@4, 2g.20gb");
  EXPECT_EQ(Describe((*l)[1]), "3g.40gb@0 {1c,2c}, 1g.10gb@4 {no CI}");
  EXPECT_FALSE((*l)[2].mig);
}

TEST_F(LayoutFile, AcceptsTheWholeSpecAndAllTrue) {
  auto l = Carve(
      "version: v1\nfleet: [{gpu: h100-80gb, count: 2}]\nmodels: []\ngateway: {listen: x}\n"
      "gpus:\n  - all: true\n    mig: off\n");
  ASSERT_TRUE(l.ok()) << Error(l);
  EXPECT_EQ(l->size(), 4u);
}

TEST_F(LayoutFile, ErrorsNameFileLineAndWhatToDo) {
  EXPECT_EQ(Error(Carve("version: v2\ngpus: []\n")),
            "c.yaml:1: the spec: 'version' is 'v2'; this carve reads v1");
  EXPECT_EQ(Error(Carve("version: v1\ngpus:\n  - index: 0\n    slicez: []\n")),
            "c.yaml:4: gpus[0] has unknown key 'slicez'");
  EXPECT_EQ(Error(Carve("version: v1\nplans: 1\n")), "c.yaml:2: the spec has unknown key 'plans'");
  EXPECT_EQ(Error(Carve("version: v1\ngpus:\n  - index: 9\n    mig: on\n")),
            "c.yaml:3: no GPU 9; this machine has GPUs 0–3");
  EXPECT_EQ(Error(Carve("version: v1\ngpus:\n  - model: a30\n    mig: on\n")),
            "c.yaml:3: this machine has no a30 GPU");
  EXPECT_EQ(
      Error(Carve("version: v1\ngpus:\n  - index: 0\n    mig: on\n  - all: true\n    mig: off\n")),
      "c.yaml:5: GPU 0 already has a layout, from c.yaml:3");
  EXPECT_EQ(Error(Carve("version: v1\ngpus:\n  - index: 0\n    slices: [3g.40gb@2]\n")),
            "c.yaml:4: GPU 0: 3g.40gb cannot start at unit 2 on H100 80GB SXM");
  EXPECT_EQ(Error(Carve("version: v1\ngpus:\n  - index: 3\n    slices: [1g.10gb]\n")),
            "c.yaml:3: GPU 3 (NVIDIA L4) does not support MIG");
  // mig: off with an empty list is what it says, on a GPU without MIG too.
  EXPECT_EQ(Error(Carve("version: v1\ngpus:\n  - index: 3\n    mig: off\n    slices: []\n")),
            "(ok)");
  EXPECT_EQ(Error(Carve("version: v1\ngpus:\n  - index: 0\n    mig: off\n    slices: [1g.10gb]\n")),
            "c.yaml:5: gpus[0]: 'slices' contradicts mig: off");
  EXPECT_EQ(Error(Carve("version: v1\ngpus:\n  - index: 0\n    slices: [{slice: 1c.3g.40gb}]\n")),
            "c.yaml:4: GPU 0: '1c.3g.40gb' names a compute instance; give those under compute:");
  EXPECT_EQ(Error(Carve("version: v1\nmodels: [{name: a, memory: 1GiB, replicas: 1}]\n")),
            "c.yaml: no gpus: section, so there is no layout to apply");
  EXPECT_EQ(Error(Carve("version: v1\ngpus: [\n")).substr(0, 7), "c.yaml:");
}

TEST_F(LayoutFile, AnInfeasibleLayoutIsRefusedBeforeAnythingChanges) {
  auto l = Carve("version: v1\ngpus:\n  - index: 0\n    slices: [4g.40gb, 4g.40gb]\n");
  ASSERT_TRUE(l.ok());
  auto plan = MakeChanges(Gpus(), *l, false);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("GPU 0 (asked for in c.yaml:3)"), std::string::npos)
      << plan.status().message();
}

TEST_F(LayoutFile, MigPartedConfigsMeanWhatTheyMeanToMigParted) {
  std::string text = ReadExample("mig-parted/config.yaml");
  ASSERT_FALSE(text.empty());
  auto l = Parted(text, "custom-config");
  ASSERT_TRUE(l.ok()) << Error(l);
  ASSERT_EQ(l->size(), 3u);  // GPU 3 is not listed: left alone
  EXPECT_EQ(Describe((*l)[0]), "3g.40gb, 1g.10gb+me, 1g.20gb");
  EXPECT_EQ(Describe((*l)[1]), "3g.40gb {1c,1c,1c}, 4g.40gb");  // three 1c share one GI
  EXPECT_FALSE((*l)[2].mig);
  Apply(*l);
  EXPECT_TRUE(NoOp(*l));

  auto one = Parted(text, "all-1g.10gb");  // device-filter: the L4 matches neither entry
  ASSERT_TRUE(one.ok()) << Error(one);
  EXPECT_EQ(one->size(), 3u);
  EXPECT_EQ((*one)[2].slices.size(), 7u);
  auto on = Parted(text, "all-enabled");
  EXPECT_EQ(Error(on), "p.yaml:10: GPU 3 (NVIDIA L4) does not support MIG");
  EXPECT_TRUE(Parted(text, "all-disabled").ok());
  EXPECT_EQ(Error(Parted(text, "nope")), "p.yaml:5: no mig-config named 'nope'");
  EXPECT_EQ(Error(Parted(text, "")), "p.yaml has several mig-configs; choose one with -c NAME");
}

TEST_F(LayoutFile, MigPartedRejectsWhatMigPartedRejects) {
  EXPECT_EQ(
      Error(Parted("version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: false\n"
                   "      mig-devices: {1g.10gb: 1}\n",
                   "a")),
      "p.yaml:6: mig-devices given while mig-enabled is false");
  EXPECT_EQ(
      Error(Parted("version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n",
                   "a")),
      "p.yaml:4: mig-devices: is required when mig-enabled is true");
  EXPECT_EQ(
      Error(Parted(
          "version: v1\nmig-configs:\n  a:\n    - devices: some\n      mig-enabled: false\n", "a")),
      "p.yaml:4: devices: is all or a list of GPU indices");
  EXPECT_EQ(
      Error(Parted("version: v1\nmig-configs:\n  a:\n    - devices: [0]\n      mig-enabled: false\n"
                   "      hooks: x\n",
                   "a")),
      "p.yaml:6: a mig-config entry has unknown key 'hooks'");
  // Values of the wrong type say which and what to write, not yaml-cpp's "bad conversion".
  const std::string head = "version: v1\nmig-configs:\n  a:\n";
  EXPECT_EQ(Error(Parted(head + "    - devices: all\n      mig-enabled: maybe\n", "a")),
            "p.yaml:5: a mig-config entry: 'mig-enabled' is 'maybe', not true or false");
  EXPECT_EQ(Error(Parted(head + "    - devices: [zero]\n      mig-enabled: false\n", "a")),
            "p.yaml:4: devices: is all or a list of GPU indices");
  EXPECT_EQ(Error(Parted(head + "    - devices: all\n      device-filter: 0x233010DE\n"
                                "      mig-enabled: true\n      mig-devices: {1g.10gb: -1}\n",
                         "a")),
            "p.yaml:7: mig-devices: '1g.10gb' is '-1', not a whole number ≥ 0");
}

TEST_F(LayoutFile, ExportThenApplyChangesNothingInEitherFormat) {
  auto l = Carve(
      "version: v1\ngpus:\n  - index: 0\n    slices: [2g.20gb@0, 1g.10gb@2, 1g.10gb@3, 3g.40gb@4]\n"
      "  - index: 1\n    slices: [{slice: 3g.40gb@0, compute: [1c, 1c, 1c]}, 1c.2g.20gb@4, "
      "1g.10gb+me@6]\n");
  ASSERT_TRUE(l.ok()) << Error(l);
  Apply(*l);
  auto carve = Carve(WriteCarveLayout(Gpus()));
  ASSERT_TRUE(carve.ok()) << Error(carve) << "\n" << WriteCarveLayout(Gpus());
  EXPECT_TRUE(NoOp(*carve));
  std::string parted = WriteMigParted(Gpus(), "current");
  auto p = Parted(parted, "");
  ASSERT_TRUE(p.ok()) << Error(p) << "\n" << parted;
  EXPECT_TRUE(NoOp(*p)) << parted;
}

TEST_F(LayoutFile, EveryExampleLayoutLoadsAndApplies) {
  for (const char* name : {"h100-mixed", "by-model", "all-1g", "compute-split", "carve"}) {
    std::string text = ReadExample(std::string("layouts/") + name + ".yaml");
    ASSERT_FALSE(text.empty()) << name;
    auto gpus = Gpus();
    if (std::string(name) == "all-1g") gpus.pop_back();  // the L4 has no MIG
    auto l = LoadCarveLayout(text, name, gpus);
    ASSERT_TRUE(l.ok()) << name << ": " << Error(l);
    Apply(*l);
    EXPECT_TRUE(NoOp(*l)) << name;
  }
}

}  // namespace
}  // namespace carve::apply
