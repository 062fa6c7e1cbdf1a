// Fault paths of the supervisor, with real processes: engines that never get
// ready, ports already taken, programs that do not exist, a carve that dies.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "serve/fake_engine_test_util.h"
#include "serve/log_file.h"
#include "serve/process.h"
#include "serve/supervisor.h"

namespace carve::serve::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(FakeEngineTest, NeverReadyEngineTimesOutWithTheTailOfItsLog) {
  Supervisor& sup = Make();
  ReplicaSpec spec = Fake("alpha/0", "MIG-1", {"--never-ready"});
  spec.probe->ready_timeout_ms = 1000;
  ASSERT_TRUE(sup.Start(spec).ok());
  Status st = sup.WaitReady(Millis(30'000));
  ASSERT_EQ(st.code(), Code::kUnavailable) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("alpha/0 on MIG-1 was not ready after 1 s"));
  EXPECT_THAT(st.message(), HasSubstr("GET /health: 503"));
  EXPECT_THAT(st.message(), HasSubstr("loading shard 1/3"));
  EXPECT_THAT(st.message(), HasSubstr("loading shard 3/3"));
  EXPECT_THAT(st.message(), HasSubstr("/state/logs/alpha-0.log"));
  EXPECT_THAT(st.hint(), HasSubstr("/state/logs/alpha-0.log"));
}

TEST_F(FakeEngineTest, FixedPortTakenByAnotherProcessIsAClearError) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int taken = ntohs(a.sin_port);
  Supervisor& sup = Make();
  ReplicaSpec spec = Fake("alpha/0", "MIG-1");
  spec.port = taken;
  Status st = sup.Start(spec);
  ::close(fd);
  EXPECT_EQ(st.code(), Code::kInUse);
  EXPECT_THAT(
      st.message(),
      HasSubstr(fmt::format("model alpha: port {} is already taken by another process", taken)));
  EXPECT_TRUE(sup.Snapshot().empty());
}

TEST_F(FakeEngineTest, PortLostToAnotherProgramIsRetriedOnAnotherPort) {
  Supervisor& sup = Make();
  // The engine's first run fails exactly as a lost bind race does (the
  // marker file is relative: in the engine's own working directory).
  ASSERT_TRUE(sup.Start(Fake("alpha/0", "MIG-1", {"--lose-port-once", "lost-port-once"})).ok());
  ASSERT_TRUE(sup.WaitReady(Millis(30'000)).ok());
  std::vector<int> ports;
  for (const ReplicaStatus& s : Seen())
    if (s.state == State::kStarting) ports.push_back(s.port);
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_NE(ports[0], ports[1]);
  EXPECT_EQ(sup.Get("alpha/0")->port, ports[1]);
  bool explained = false;
  for (const ReplicaStatus& s : Seen())
    explained |= s.last_error.find(fmt::format("port {} was taken by another program", ports[0])) !=
                 std::string::npos;
  EXPECT_TRUE(explained);
}

// Another server answers on the engine's port, even serving the same model
// name, while the engine is still loading: it must not count as ready.
TEST_F(FakeEngineTest, StrangerOnThePortIsNotTakenForTheEngine) {
  int port = *PortAllocator(24000, 24899).Acquire();  // free now
  SupervisorOptions o = Options();
  o.ports = std::make_shared<PortAllocator>(port, port);  // one port: the stranger's too
  Supervisor& sup = Make(o);
  ReplicaSpec spec = Fake("alpha/0", "MIG-1", {"--no-bind"});
  spec.probe->ready_timeout_ms = 1500;
  ASSERT_TRUE(sup.Start(spec).ok());
  ASSERT_TRUE(sup.WaitFor(
      "alpha/0", [](const ReplicaStatus& s) { return s.pid != 0; }, Millis(10'000)));
  SupervisorOptions so = Options();
  so.state_dir = dir_ + "/stranger";
  so.ports = std::make_shared<PortAllocator>(port, port);
  Supervisor stranger(so);
  ASSERT_TRUE(stranger.Start(Fake("alpha/9", "MIG-9")).ok());
  ASSERT_TRUE(stranger.WaitReady(Millis(30'000)).ok());
  ASSERT_EQ(stranger.Get("alpha/9")->port, port);
  Status st = sup.WaitReady(Millis(30'000));
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_THAT(st.message(),
              HasSubstr(fmt::format("port {} answers, but not from this engine", port)));
  EXPECT_THAT(st.message(), HasSubstr("loading weights (forever)"));
}

TEST_F(FakeEngineTest, MissingProgramIsRefusedAtStart) {
  Supervisor& sup = Make();
  ReplicaSpec spec = Fake("alpha/0", "MIG-1");
  spec.engine = EngineKind::kVllm;
  spec.source = "Qwen/Qwen3-4B";
  spec.env["PATH"] = dir_;  // no vllm here
  Status st = sup.Start(spec);
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_THAT(st.message(), HasSubstr("vllm is not on PATH"));
}

TEST_F(FakeEngineTest, EngineOutputGoesToItsRotatedLog) {
  SupervisorOptions o = Options();
  o.log = LogOptions{4096, 2};
  Supervisor& sup = Make(o);
  ASSERT_TRUE(sup.Start(Fake("alpha/0", "MIG-1", {"--spam", "200"})).ok());  // ~14 KB
  ASSERT_TRUE(sup.WaitReady(Millis(30'000)).ok());
  ReplicaStatus s = *sup.Get("alpha/0");
  sup.StopAll();
  EXPECT_TRUE(fs::exists(s.log_path + ".1"));
  EXPECT_TRUE(fs::exists(s.log_path + ".2"));
  EXPECT_FALSE(fs::exists(s.log_path + ".3"));
  EXPECT_LE(fs::file_size(s.log_path), 4096u);
  EXPECT_THAT(ReadLogTail(s.log_path, 50), HasSubstr("stopped: exit 0"));
}

// The supervisor runs in a forked child; killing that child must kill its
// engine even though nobody stops it.
TEST_F(FakeEngineTest, EnginesDieWithCarve) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t sub = ::fork();
  ASSERT_GE(sub, 0);
  if (sub == 0) {
    ::close(pipe_fds[0]);
    Supervisor sup(Options());
    int pid = -1;
    if (sup.Start(Fake("alpha/0", "MIG-1")).ok() && sup.WaitReady(Millis(30'000)).ok())
      pid = sup.Get("alpha/0")->pid;
    ssize_t n = ::write(pipe_fds[1], &pid, sizeof(pid));
    (void)n;
    ::pause();  // until killed
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  int engine = -1;
  ASSERT_EQ(::read(pipe_fds[0], &engine, sizeof(engine)), static_cast<ssize_t>(sizeof(engine)));
  ::close(pipe_fds[0]);
  ASSERT_GT(engine, 0) << "the sub-supervisor's engine did not become ready";
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, engine, 0));
  ASSERT_GE(pidfd, 0);
  ASSERT_EQ(::kill(sub, SIGKILL), 0);
  int status;
  ASSERT_EQ(::waitpid(sub, &status, 0), sub);
  pollfd p{pidfd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 10'000), 1) << "engine " << engine << " outlived its supervisor";
  ::close(pidfd);
  EXPECT_THAT(LiveGroupMembers(engine), ::testing::IsEmpty());
}

}  // namespace
}  // namespace carve::serve::testing
