// Reconcile: processes in the way, MIG mode changes and resets, the journal,
// and crash recovery (a forked child killed right after each operation).
#include "apply/reconcile.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "apply/layout_file.h"
#include "device/sim/sim_machine.h"

namespace carve::apply {
namespace {

using device::sim::SimMachine;
namespace fs = std::filesystem;

const mig::GpuModel* Model(const char* alias) { return mig::Catalog::Builtin().Find(alias); }

Layouts Load(device::Machine& m, const std::string& yaml) {
  auto l = LoadCarveLayout("version: v1\ngpus:\n" + yaml, "t.yaml", *m.Gpus());
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? *l : Layouts{};
}

Outcome ApplyYaml(device::Machine& m, const std::string& yaml, Options o = {}) {
  auto plan = MakeChanges(*m.Gpus(), Load(m, yaml), o.force);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  return plan.ok() ? Reconciler(m, o).Apply(*plan) : Outcome{.status = plan.status()};
}

std::string Holds(device::Machine& m, int gpu) { return Describe(LayoutOf(*m.GetGpu(gpu))); }

std::unique_ptr<SimMachine> H100(int n = 1) {
  return SimMachine::InMemory(
      *device::sim::NewState(std::vector<const mig::GpuModel*>(n, Model("h100-80gb")), true, 7));
}

constexpr const char* kMixed =
    "  - index: 0\n    slices: [2g.20gb@0, 1g.10gb@2, 1g.10gb@3, 3g.40gb@4]\n";
constexpr const char* kTarget = "  - index: 0\n    slices: [2g.20gb@0, 1g.20gb@2, 3g.40gb@4]\n";

TEST(Reconcile, KeepsSlicesInUseAndChangesOnlyWhatConflicts) {
  auto m = H100();
  ASSERT_TRUE(ApplyYaml(*m, kMixed).status.ok());
  ASSERT_TRUE(m->Attach(0, 3, std::nullopt, {4121, "vllm", 9000}).ok());  // on 2g.20gb@0
  Outcome out = ApplyYaml(*m, kTarget);
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_EQ(out.ops_done, 6);  // 2×(CI + GI) destroyed, 1 GI + 1 CI created
  EXPECT_EQ(Holds(*m, 0), "2g.20gb@0, 1g.20gb@2, 3g.40gb@4");
  EXPECT_EQ(m->GetGpu(0)->processes.size(), 1u);
}

TEST(Reconcile, CreatesLargerComputeInstancesFirstSoMixedSplitsFit) {
  auto m = H100();
  Outcome out =
      ApplyYaml(*m, "  - index: 0\n    slices: [{slice: 3g.40gb@4, compute: [1c, 2c]}]\n");
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  EXPECT_EQ(Holds(*m, 0), "3g.40gb@4 {1c,2c}");
}

TEST(Reconcile, RefusesToDestroyASliceInUseNamingTheProcessThenForceStopsIt) {
  auto m = H100();
  ASSERT_TRUE(ApplyYaml(*m, kMixed).status.ok());
  ASSERT_TRUE(m->Attach(0, 9, std::nullopt, {4121, "vllm", 9000}).ok());  // on 1g.10gb@2
  Outcome refused = ApplyYaml(*m, kTarget);
  EXPECT_EQ(refused.status.code(), Code::kInUse);
  EXPECT_EQ(refused.status.message(),
            "cannot destroy 1g.10gb@2 on GPU 0 (the layout has no 1g.10gb): process 4121 (vllm, "
            "8.8 GiB) is using it.");
  EXPECT_EQ(refused.ops_done, 0);
  EXPECT_EQ(Holds(*m, 0), "2g.20gb@0, 1g.10gb@2, 1g.10gb@3, 3g.40gb@4");
  Outcome forced = ApplyYaml(*m, kTarget, Options{.force = true});
  ASSERT_TRUE(forced.status.ok()) << forced.status.message();
  ASSERT_EQ(forced.stopped.size(), 1u);
  EXPECT_EQ(forced.stopped[0].name, "vllm");
  EXPECT_EQ(Holds(*m, 0), "2g.20gb@0, 1g.20gb@2, 3g.40gb@4");
}

TEST(Reconcile, ModeChangesTouchOnlyTheGpusThatNeedThemAndResetOnlyThatAmpere) {
  auto m = SimMachine::InMemory(
      *device::sim::NewState({Model("a100-80gb"), Model("a100-80gb")}, false, 7));
  ASSERT_TRUE(m->Attach(1, std::nullopt, std::nullopt, {77, "train", 1000}).ok());
  Outcome out = ApplyYaml(*m, "  - index: 0\n    slices: [7g.80gb@0]\n");
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  auto state = *m->State();
  EXPECT_EQ(state.gpus[0].resets, 1);
  EXPECT_EQ(state.gpus[1].resets, 0);
  EXPECT_FALSE(state.gpus[1].mig.current);
  Outcome busy = ApplyYaml(*m, "  - index: 1\n    mig: on\n");
  EXPECT_EQ(busy.status.message(),
            "cannot turn MIG on on GPU 1: process 77 (train, 1.0 GiB) is using it.");
}

TEST(Reconcile, AFailedOperationRestoresThePreApplyLayoutPlacementExactly) {
  auto m = H100(2);
  ASSERT_TRUE(
      ApplyYaml(*m, std::string(kMixed) + "  - index: 1\n    slices: [7g.80gb]\n").status.ok());
  ASSERT_TRUE(m->SetFault(9, Code::kInsufficientResources).ok());
  Outcome out =
      ApplyYaml(*m, std::string(kTarget) + "  - index: 1\n    slices: [4g.40gb@0, 3g.40gb@4]\n");
  EXPECT_EQ(out.status.code(), Code::kInsufficientResources);
  EXPECT_TRUE(out.rolled_back);
  ASSERT_EQ(out.gpus.size(), 2u);
  EXPECT_EQ(OutcomeText(out.gpus[0]),
            "GPU 0 holds its pre-apply layout: 2g.20gb@0, 1g.10gb@2, 1g.10gb@3, 3g.40gb@4");
  EXPECT_EQ(OutcomeText(out.gpus[1]), "GPU 1 holds its pre-apply layout: 7g.80gb@0");
}

// A file-backed machine, a child that applies and is SIGKILLed right after
// operation `n`, and the recovery the next run does.
class Crash : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("carve-crash-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<SimMachine> Fresh() {
    auto state = device::sim::NewState({Model("h100-80gb"), Model("a100-80gb")}, true, 7);
    EXPECT_TRUE(device::sim::CreateStateFile(path(), *state, true).ok());
    auto m = SimMachine::Open(path());
    return std::move(*m);
  }
  std::string path() const { return (dir_ / "m.json").string(); }
  Options Opts(int crash = 0) {
    return Options{.state_dir = (dir_ / "state").string(), .crash_after_op = crash};
  }
  // Runs the apply in a child killed after operation n; true when it was killed.
  bool KilledAfter(const std::string& yaml, int n) {
    pid_t pid = ::fork();
    if (pid == 0) {
      auto m = SimMachine::Open(path());
      auto plan = MakeChanges(*(*m)->Gpus(), Load(**m, yaml), false);
      Reconciler(**m, Opts(n)).Apply(*plan);
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
  fs::path dir_;
};

TEST_F(Crash, AKillAfterEveryOperationIsFinishedByTheNextRun) {
  const std::string before = std::string(kMixed) + "  - index: 1\n    slices: [3g.40gb@4]\n";
  const std::string target = std::string(kTarget) + "  - index: 1\n    mig: off\n";
  int ops = 0;
  {
    auto m = Fresh();
    ASSERT_TRUE(ApplyYaml(*m, before).status.ok());
    ops = ApplyYaml(*m, target).ops_done;
  }
  ASSERT_GT(ops, 5);
  for (int n = 1; n <= ops; ++n) {
    auto m = Fresh();
    ASSERT_TRUE(ApplyYaml(*m, before).status.ok());
    ASSERT_TRUE(KilledAfter(target, n)) << n;
    ASSERT_TRUE(fs::exists(JournalPath(Opts().state_dir))) << n;
    auto rec = Reconciler(*m, Opts()).Recover();
    ASSERT_TRUE(rec.ok() && *rec) << n;
    ASSERT_TRUE((*rec)->status.ok()) << n << ": " << (*rec)->status.message();
    EXPECT_EQ(Holds(*m, 0), "2g.20gb@0, 1g.20gb@2, 3g.40gb@4") << n;
    EXPECT_EQ(Holds(*m, 1), "MIG off") << n;
    EXPECT_FALSE(fs::exists(JournalPath(Opts().state_dir))) << n;
    EXPECT_FALSE(*Reconciler(*m, Opts()).Recover()) << n;  // nothing left to recover
  }
}

TEST_F(Crash, AKillDuringARollbackIsRolledBackByTheNextRun) {
  const std::string target = std::string(kTarget) + "  - index: 1\n    mig: off\n";
  auto m = Fresh();
  ASSERT_TRUE(ApplyYaml(*m, kMixed).status.ok());
  ASSERT_TRUE(m->SetFault(6, Code::kUnknown).ok());  // the 6th call fails; rollback starts
  ASSERT_TRUE(KilledAfter(target, 7));               // killed during the rollback
  ASSERT_TRUE(m->SetFault(0, Code::kUnknown).ok());
  auto rec = Reconciler(*m, Opts()).Recover();
  ASSERT_TRUE(rec.ok() && *rec);
  EXPECT_TRUE((*rec)->status.ok()) << (*rec)->status.message();
  EXPECT_EQ(Holds(*m, 0), "2g.20gb@0, 1g.10gb@2, 1g.10gb@3, 3g.40gb@4");
  EXPECT_EQ(Holds(*m, 1), "MIG on, no slices");
}

}  // namespace
}  // namespace carve::apply
