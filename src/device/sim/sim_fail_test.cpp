// carve sim fail in the simulator: a failed GPU instance as Gpus() reports
// it, kept in the state file, gone with its instance or a GPU reset, and
// told to the engines on it through fault files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "device/sim/sim_machine.h"
#include "util/activity_file.h"

namespace carve::device::sim {
namespace {

namespace fs = std::filesystem;

class SimFail : public ::testing::Test {
 protected:
  // A state file with one H100 (MIG on) and two 1g slices with a compute
  // instance each; returns their GPU instance ids.
  std::pair<int, int> Open(int gpus = 1) {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = ::testing::TempDir() + "/sim-fail-" + name;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ + "/machine.json";
    std::vector<const mig::GpuModel*> models(gpus, mig::Catalog::Builtin().Find("h100-80gb"));
    auto state = NewState(models, true, 3);
    EXPECT_TRUE(state.ok());
    EXPECT_TRUE(CreateStateFile(path_, *state, true).ok());
    m_ = std::move(SimMachine::Open(path_)).value();
    int ids[2] = {};
    for (int g = 0; g < gpus; ++g)
      for (int& id : ids) {
        id = m_->CreateGpuInstance(g, 19, std::nullopt)->id;
        EXPECT_TRUE(m_->CreateComputeInstance(g, id, 0, std::nullopt).ok());
      }
    return {ids[0], ids[1]};
  }
  // The fault text Gpus() reports on GPU instance `gi` of GPU `gpu`.
  std::string FaultOn(SimMachine& m, int gpu, int gi) {
    auto gpus = m.Gpus();
    EXPECT_TRUE(gpus.ok());
    for (const auto& x : (*gpus)[gpu].gpu_instances)
      if (x.id == gi) return x.fault;
    ADD_FAILURE() << "no GPU instance " << gi;
    return "?";
  }
  // A process on `gi` whose activity file is in its own directory `name`.
  std::string Engine(int gi, uint32_t pid, const std::string& name) {
    std::string d = dir_ + "/" + name;
    fs::create_directories(d);
    EXPECT_TRUE(
        m_->Attach(0, gi, std::nullopt, {pid, "echo", 512, -1, -1, false, d + "/activity"}).ok());
    return d + "/fault";
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_, path_;
  std::unique_ptr<SimMachine> m_;
};

TEST_F(SimFail, FailedInstanceShowsItsXidAndOthersStayHealthy) {
  auto [a, b] = Open();
  auto f = m_->FailGpuInstance(0, a, 94);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->xid, 94);
  EXPECT_EQ(FaultOn(*m_, 0, a), "Xid 94: contained ECC error");
  EXPECT_EQ(FaultOn(*m_, 0, b), "");
  ASSERT_TRUE(m_->FailGpuInstance(0, a, 48).ok());  // a later Xid replaces it
  EXPECT_EQ(FaultOn(*m_, 0, a), "Xid 48: double-bit ECC error");
}

TEST_F(SimFail, FaultSurvivesTheStateFile) {
  auto [a, b] = Open();
  ASSERT_TRUE(m_->FailGpuInstance(0, b, 79).ok());
  auto again = SimMachine::Open(path_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(FaultOn(**again, 0, b), "Xid 79: GPU has fallen off the bus");
  EXPECT_EQ(FaultOn(**again, 0, a), "");
  auto state = m_->State();
  ASSERT_TRUE(state.ok());
  auto parsed = ParseState(FormatState(*state), "test");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(FormatState(*parsed), FormatState(*state));
}

TEST_F(SimFail, OldStateFilesWithoutTheFieldAreHealthy) {
  auto [a, b] = Open();
  auto state = m_->State();
  ASSERT_TRUE(state.ok());
  std::string text = FormatState(*state);
  EXPECT_EQ(text.find("\"xid\""), std::string::npos);  // healthy: written as before
  auto parsed = ParseState(text, "old");
  ASSERT_TRUE(parsed.ok());
  for (const auto& gi : parsed->gpus[0].gis) EXPECT_EQ(gi.xid, 0);
}

TEST_F(SimFail, ClearHealsEverythingOneGpuOrOneInstance) {
  auto [a, b] = Open(/*gpus=*/2);
  for (int g : {0, 1})
    for (int gi : {a, b}) ASSERT_TRUE(m_->FailGpuInstance(g, gi, 94).ok());
  auto one = m_->ClearFailures(1, a);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(FaultOn(*m_, 1, a), "");
  EXPECT_NE(FaultOn(*m_, 1, b), "");
  auto gpu0 = m_->ClearFailures(0, std::nullopt);
  ASSERT_TRUE(gpu0.ok());
  EXPECT_EQ(gpu0->size(), 2u);
  EXPECT_EQ(FaultOn(*m_, 0, a), "");
  EXPECT_NE(FaultOn(*m_, 1, b), "");
  auto all = m_->ClearFailures(std::nullopt, std::nullopt);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].gpu, 1);
  EXPECT_EQ(FaultOn(*m_, 1, b), "");
  EXPECT_TRUE(m_->ClearFailures(std::nullopt, std::nullopt)->empty());  // nothing left: no error
}

TEST_F(SimFail, DestroyingTheInstanceDropsItsFault) {
  auto [a, b] = Open();
  ASSERT_TRUE(m_->FailGpuInstance(0, a, 94).ok());
  ASSERT_TRUE(m_->DestroyComputeInstance(0, a, 0).ok());
  ASSERT_TRUE(m_->DestroyGpuInstance(0, a).ok());
  auto again = m_->CreateGpuInstance(0, 19, std::nullopt);  // the same place, the same id
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, a);
  EXPECT_EQ(again->fault, "");
  EXPECT_EQ(FaultOn(*m_, 0, a), "");
}

TEST_F(SimFail, ResetAndRebootClearIt) {
  auto [a, b] = Open();
  ASSERT_TRUE(m_->FailGpuInstance(0, a, 94).ok());
  ASSERT_TRUE(m_->ResetGpu(0).ok());
  auto state = m_->State();
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->gpus[0].gis.empty());
  ASSERT_TRUE(m_->CreateGpuInstance(0, 19, 0).ok());
  int gi = m_->Gpus()->at(0).gpu_instances.at(0).id;
  ASSERT_TRUE(m_->FailGpuInstance(0, gi, 94).ok());
  ASSERT_TRUE(m_->Reboot().ok());
  state = m_->State();
  for (const auto& g : state->gpus)
    for (const auto& x : g.gis) EXPECT_EQ(x.xid, 0);
}

TEST_F(SimFail, Refusals) {
  auto [a, b] = Open();
  auto xid = m_->FailGpuInstance(0, a, 13);
  EXPECT_EQ(xid.status().code(), Code::kInvalidArgument);
  EXPECT_NE(xid.status().hint().find("94 (contained ECC error)"), std::string::npos);
  EXPECT_EQ(m_->FailGpuInstance(3, a, 94).status().code(), Code::kNotFound);
  auto gi = m_->FailGpuInstance(0, 99, 94);
  EXPECT_EQ(gi.status().code(), Code::kNotFound);
  EXPECT_NE(gi.status().message().find("no GPU instance 99"), std::string::npos);
  EXPECT_EQ(m_->ClearFailures(0, 99).status().code(), Code::kNotFound);
  auto off = SimMachine::InMemory(*NewState({mig::Catalog::Builtin().Find("a100-80gb")}, false, 1));
  EXPECT_EQ(off->FailGpuInstance(0, 0, 94).status().code(), Code::kNotSupported);
  EXPECT_EQ(FaultOn(*m_, 0, a), "");  // a refusal changes nothing
}

TEST_F(SimFail, EnginesOnItGetAFaultFileUntilItHeals) {
  auto [a, b] = Open();
  std::string on_a = Engine(a, 101, "engine-a");
  std::string on_b = Engine(b, 102, "engine-b");
  auto f = m_->FailGpuInstance(0, a, 94);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->fault_files, std::vector<std::string>{on_a});
  // The fault's words, then the instance's MIG devices (the engine checks its own is one).
  std::string uuid;
  auto gpus = m_->Gpus();
  ASSERT_TRUE(gpus.ok());
  for (const auto& gi : gpus->at(0).gpu_instances)
    if (gi.id == a) uuid = gi.compute_instances.at(0).uuid;
  EXPECT_EQ(Read(on_a), "Xid 94: contained ECC error\n" + uuid + "\n");
  EXPECT_FALSE(fs::exists(on_b));
  // An engine put there later (a restart) is told too.
  std::string later = Engine(a, 103, "engine-a2");
  EXPECT_EQ(Read(later), "Xid 94: contained ECC error\n" + uuid + "\n");
  ASSERT_TRUE(m_->ClearFailures(0, a).ok());
  EXPECT_FALSE(fs::exists(on_a));
  EXPECT_FALSE(fs::exists(later));
}

TEST_F(SimFail, RebootRemovesTheFaultFiles) {
  auto [a, b] = Open();
  std::string on_a = Engine(a, 101, "engine-a");
  ASSERT_TRUE(m_->FailGpuInstance(0, a, 95).ok());
  ASSERT_TRUE(fs::exists(on_a));
  ASSERT_TRUE(m_->Reboot().ok());
  EXPECT_FALSE(fs::exists(on_a));
}

TEST_F(SimFail, CheckStateRefusesAnUnknownXidOrStrayFaultFiles) {
  auto [a, b] = Open();
  auto state = m_->State();
  ASSERT_TRUE(state.ok());
  SimState bad = *state;
  bad.gpus[0].gis[0].xid = 13;
  EXPECT_NE(CheckState(bad).message().find("xid 13 is not one carve knows"), std::string::npos);
  bad.gpus[0].gis[0].xid = 0;
  bad.gpus[0].gis[0].fault_files = {"/tmp/x/fault"};
  EXPECT_NE(CheckState(bad).message().find("fault files on a healthy instance"), std::string::npos);
  bad.gpus[0].gis[0].xid = 94;
  EXPECT_TRUE(CheckState(bad).ok());
  bad.gpus[0].gis[0].fault_files = {"/etc/passwd"};  // --clear would unlink it
  EXPECT_NE(CheckState(bad).message().find("is not a fault file"), std::string::npos);
}

TEST(FaultFile, BesideTheActivityFile) {
  EXPECT_EQ(FaultFileBeside("/var/lib/carve/engines/a/activity"), "/var/lib/carve/engines/a/fault");
  EXPECT_EQ(FaultFileBeside("activity"), "fault");
}

}  // namespace
}  // namespace carve::device::sim
