// Process tests: real engine processes (tests/serve/fake_engine.py) under a
// real supervisor. Waits are on state changes with bounded timeouts.
#include "serve/supervisor.h"

#include <gmock/gmock.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <set>
#include <thread>

#include "serve/fake_engine_test_util.h"
#include "serve/http_probe.h"
#include "serve/process.h"

namespace carve::serve::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(FakeEngineTest, EachEngineSeesItsOwnSliceDirectoryAndPort) {
  Supervisor& sup = Make();
  std::vector<std::string> uuids = {"MIG-aaaaaaaa-0000-5000-8000-000000000001",
                                    "MIG-bbbbbbbb-0000-5000-8000-000000000002",
                                    "MIG-cccccccc-0000-5000-8000-000000000003"};
  ASSERT_TRUE(sup.Start(Fake("alpha/0", uuids[0])).ok());
  ASSERT_TRUE(sup.Start(Fake("alpha/1", uuids[1])).ok());
  ASSERT_TRUE(sup.Start(Fake("beta/0", uuids[2])).ok());
  Status ready = sup.WaitReady(Millis(30'000));
  ASSERT_TRUE(ready.ok()) << ready.ToString();
  std::set<int> ports;
  for (const ReplicaStatus& s : sup.Snapshot()) {
    nlohmann::json info = Info(s);
    ASSERT_TRUE(info.is_object()) << s.id;
    std::string want = s.id == "alpha/0" ? uuids[0] : s.id == "alpha/1" ? uuids[1] : uuids[2];
    EXPECT_EQ(info["cuda"], want) << s.id;
    EXPECT_EQ(info["nvidia"], want) << s.id;
    EXPECT_EQ(info["cwd"], fs::canonical(s.workdir).string());
    EXPECT_EQ(info["pid"], s.pid);
    EXPECT_EQ(info["pgid"], s.pid) << "each engine leads its own process group";
    EXPECT_EQ(info["port"], s.port);
    EXPECT_TRUE(RunChecks({{"/v1/models", true}}, s.port, s.model, Millis(2000)).ok());
    EXPECT_TRUE(GroupListensOn(s.pid, s.port));
    EXPECT_FALSE(GroupListensOn(s.pid, s.port + 1000));
    ports.insert(s.port);
  }
  EXPECT_EQ(ports.size(), 3u);
}

TEST_F(FakeEngineTest, EnginesRunAsTheUnprivilegedUserWhenCarveIsRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root: engines run as carve's own user";
  Supervisor& sup = Make();
  ASSERT_TRUE(sup.Start(Fake("alpha/0", "MIG-1")).ok());
  ASSERT_TRUE(sup.WaitReady(Millis(30'000)).ok());
  ReplicaStatus s = sup.Snapshot().at(0);
  const passwd* pw = ::getpwnam("carve");
  ASSERT_NE(pw, nullptr);
  nlohmann::json info = Info(s);
  EXPECT_EQ(info["uid"], pw->pw_uid);
  EXPECT_EQ(info["gid"], pw->pw_gid);
  EXPECT_EQ(info["home"], pw->pw_dir);
  struct stat st {};
  ASSERT_EQ(::stat(s.workdir.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
  ASSERT_EQ(::stat(s.log_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, pw->pw_uid);
  EXPECT_EQ(s.user, "carve");
}

TEST_F(FakeEngineTest, RootIsRefusedAsTheEngineUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "not root";
  Supervisor& sup = Make();
  ReplicaSpec spec = Fake("alpha/0", "MIG-1");
  spec.user = "root";
  Status st = sup.Start(spec);
  EXPECT_EQ(st.code(), Code::kNoPermission);
  EXPECT_THAT(st.message(), HasSubstr("never run as root"));
  spec.user = "no-such-user-carve-test";
  EXPECT_EQ(sup.Start(spec).code(), Code::kNotFound);
}

TEST_F(FakeEngineTest, KilledEngineIsRestartedAndReadyAgain) {
  Supervisor& sup = Make();
  ASSERT_TRUE(sup.Start(Fake("alpha/0", "MIG-1")).ok());
  ASSERT_TRUE(sup.WaitReady(Millis(30'000)).ok());
  ReplicaStatus before = *sup.Get("alpha/0");
  ASSERT_EQ(::kill(before.pid, SIGKILL), 0);
  ASSERT_TRUE(sup.WaitFor(
      "alpha/0", [&](const ReplicaStatus& s) { return IsReady(s) && s.pid != before.pid; },
      Millis(30'000)));
  ReplicaStatus after = *sup.Get("alpha/0");
  EXPECT_EQ(after.restarts, 1);
  EXPECT_EQ(after.last_exit, "signal 9 (Killed)");
  EXPECT_EQ(after.port, before.port) << "a replica keeps its port across restarts";
  bool saw_restarting = false;
  for (const ReplicaStatus& s : Seen()) saw_restarting |= s.state == State::kRestarting;
  EXPECT_TRUE(saw_restarting);
}

TEST_F(FakeEngineTest, CrashLoopIsReportedAndDoesNotSpin) {
  SupervisorOptions o = Options();
  o.restart.base = Millis(10);
  o.restart.max = Millis(20);  // without crash-loop detection: ~20 restarts a second
  o.restart.crash_loop_count = 3;
  o.restart.crash_loop_window = Millis(60'000);
  o.restart.crash_loop_delay = Millis(500);
  Supervisor& sup = Make(o);
  ASSERT_TRUE(sup.Start(Fake("alpha/0", "MIG-1", {"--crash"})).ok());
  ASSERT_TRUE(sup.WaitFor(
      "alpha/0", [](const ReplicaStatus& s) { return s.state == State::kCrashLooping; },
      Millis(30'000)));
  ReplicaStatus s = *sup.Get("alpha/0");
  EXPECT_EQ(s.last_exit, "exit 3");
  EXPECT_THAT(s.last_error, HasSubstr("exited before it was ready (exit 3)"));
  EXPECT_THAT(s.last_error, HasSubstr("no kernel image is available"));  // the log's tail
  Status wait = sup.WaitReady(Millis(5000));
  EXPECT_EQ(wait.code(), Code::kUnavailable);
  EXPECT_THAT(wait.message(), HasSubstr("exit 3"));

  // Measure a 1.5 s window: restarts and the supervisor's own CPU time.
  rusage r0{}, r1{};
  ::getrusage(RUSAGE_SELF, &r0);
  int restarts0 = s.restarts;
  std::this_thread::sleep_for(Millis(1500));  // a measurement window, not a synchronisation
  ::getrusage(RUSAGE_SELF, &r1);
  int restarts = sup.Get("alpha/0")->restarts - restarts0;
  auto cpu_us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1'000'000L + r.ru_utime.tv_usec +
           r.ru_stime.tv_usec;
  };
  EXPECT_LE(restarts, 4) << "one attempt per crash_loop_delay (500 ms)";
  EXPECT_GE(restarts, 1) << "a crash-looping replica is still retried";
  // A spinning supervisor burns a whole core: 1.5 s of CPU in this window. Each restart costs a
  // fork, which under ASan or TSan (a large shadow mapping to copy) is tens of milliseconds, so
  // the bound is half the window: far from a spin, and true in every build.
  EXPECT_LT(cpu_us(r1) - cpu_us(r0), 750'000) << "the supervisor must not spin";
}

TEST_F(FakeEngineTest, StopLeavesNoProcessBehind) {
  Supervisor& sup = Make();
  ASSERT_TRUE(sup.Start(Fake("alpha/0", "MIG-1", {"--helper"})).ok());
  ASSERT_TRUE(sup.WaitReady(Millis(30'000)).ok());
  ReplicaStatus s = *sup.Get("alpha/0");
  int helper = Info(s)["helper_pid"];
  ASSERT_THAT(LiveGroupMembers(s.pid), ::testing::UnorderedElementsAre(s.pid, helper));
  ASSERT_TRUE(sup.Stop("alpha/0").ok());
  EXPECT_THAT(LiveGroupMembers(s.pid), ::testing::IsEmpty());
  EXPECT_TRUE(sup.Snapshot().empty());
  EXPECT_EQ(Seen().back().state, State::kStopped);
  EXPECT_EQ(Seen().back().last_exit, "exit 0") << "SIGTERM was enough";
}

TEST_F(FakeEngineTest, EngineIgnoringSigtermIsKilledAfterTheGrace) {
  SupervisorOptions o = Options();
  o.stop_grace = Millis(300);
  Supervisor& sup = Make(o);
  ASSERT_TRUE(sup.Start(Fake("alpha/0", "MIG-1", {"--ignore-term", "--helper"})).ok());
  ASSERT_TRUE(sup.WaitReady(Millis(30'000)).ok());
  ReplicaStatus s = *sup.Get("alpha/0");
  auto start = Clock::now();
  sup.StopAll();
  EXPECT_GE(Clock::now() - start, Millis(300));
  EXPECT_THAT(LiveGroupMembers(s.pid), ::testing::IsEmpty());
  EXPECT_EQ(Seen().back().last_exit, "signal 9 (Killed)");
}

TEST_F(FakeEngineTest, FailedLivenessMakesItUnhealthyThenRestartsIt) {
  Supervisor& sup = Make();
  std::string sick = dir_ + "/sick";
  ReplicaSpec spec = Fake("alpha/0", "MIG-1", {"--sick-file", sick});
  spec.probe->failures_to_restart = 3;
  ASSERT_TRUE(sup.Start(spec).ok());
  ASSERT_TRUE(sup.WaitReady(Millis(30'000)).ok());
  int pid = sup.Get("alpha/0")->pid;
  std::ofstream(sick).close();
  ASSERT_TRUE(sup.WaitFor(
      "alpha/0", [](const ReplicaStatus& s) { return s.state == State::kUnhealthy; },
      Millis(10'000)));
  EXPECT_THAT(sup.Get("alpha/0")->last_error, HasSubstr("GET /health: 500"));
  ASSERT_TRUE(sup.WaitFor(
      "alpha/0", [](const ReplicaStatus& s) { return s.restarts == 1; }, Millis(10'000)));
  fs::remove(sick);
  ASSERT_TRUE(sup.WaitFor(
      "alpha/0", [&](const ReplicaStatus& s) { return IsReady(s) && s.pid != pid; },
      Millis(30'000)));
}

}  // namespace
}  // namespace carve::serve::testing
