#include "serve/runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "serve/command.h"
#include "serve/docker.h"
#include "serve/http_probe.h"

namespace carve::serve {
namespace {

int MillisUntil(Clock::time_point t) {
  auto ms = std::chrono::duration_cast<Millis>(t - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

std::string Indent(const std::string& text) {
  std::string out = "  ";
  for (char c : text) out += c == '\n' ? std::string("\n  ") : std::string(1, c);
  return out;
}

// The longest a docker command (rm, stop beyond its grace) may take.
constexpr Millis kDockerTimeout{30'000};

std::string Seconds(int ms) {
  return ms % 1000 == 0 ? fmt::format("{} s", ms / 1000) : fmt::format("{:.1f} s", ms / 1000.0);
}

}  // namespace

Result<std::unique_ptr<Runner>> Runner::Create(RunnerConfig config) {
  auto log = RotatingLog::Open(config.log_path, config.options->log,
                               config.user.switch_to ? config.user.uid : -1,
                               config.user.switch_to ? config.user.gid : -1);
  if (!log.ok()) return log.status();
  int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) return Status::Io(fmt::format("eventfd: {}", std::strerror(errno)));
  return std::unique_ptr<Runner>(new Runner(std::move(config), std::move(*log), wake));
}

Runner::Runner(RunnerConfig config, RotatingLog log, int wake_fd)
    : config_(std::move(config)),
      log_(std::move(log)),
      wake_fd_(wake_fd),
      tracker_(config_.options->restart),
      port_(config_.fixed_port) {
  const ReplicaSpec& s = config_.spec;
  status_.id = s.id;
  status_.model = s.model;
  status_.uuid = s.uuid;
  status_.engine = s.engine;
  status_.user = config_.user.name;
  status_.port = port_;
  status_.workdir = config_.workdir;
  status_.log_path = log_.path();
  status_.since = Clock::now();
}

Runner::~Runner() {
  RequestStop();
  Join();
  ::close(wake_fd_);
}

void Runner::Begin() {
  thread_ = std::thread([this] { Run(); });
}

void Runner::RequestStop() {
  stop_ = true;
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

void Runner::Join() {
  if (thread_.joinable()) thread_.join();
}

ReplicaStatus Runner::status() const {
  util::MutexLock lock(mu_);
  return status_;
}

void Runner::Update(const std::function<void(ReplicaStatus&)>& change) {
  util::MutexLock lock(mu_);
  change(status_);
}

void Runner::SetState(State state, const std::function<void(ReplicaStatus&)>& change) {
  ReplicaStatus copy;
  {
    util::MutexLock lock(mu_);
    if (change) change(status_);
    if (status_.state != state) status_.since = Clock::now();
    status_.state = state;
    copy = status_;
  }
  config_.on_change(copy);  // no lock held: the observer may call back in
}

void Runner::Note(const std::string& line) {
  Status ignored = log_.Write(fmt::format("=== carve: {}\n", line));
  (void)ignored;  // the log is a courtesy; the status carries the error
}

void Runner::Fail(const std::string& why) {
  Note(why);
  Update([&](ReplicaStatus& st) { st.last_error = why; });
}

std::string Runner::Tail() const {
  return ReadLogTail(log_.path(), config_.options->log_tail_lines);
}

void Runner::Run() {
  for (bool first = true; !stopping(); first = false) {
    if (!first) Update([](ReplicaStatus& s) { ++s.restarts; });
    Attempt();
    if (stopping()) break;
    RestartDecision d = tracker_.OnFailure(Clock::now());
    SetState(d.crash_looping ? State::kCrashLooping : State::kRestarting);
    if (!Sleep(d.delay)) break;
  }
  if (port_ != 0) config_.options->ports->Release(port_);
  SetState(State::kStopped, [](ReplicaStatus& s) { s.pid = 0; });
}

bool Runner::Sleep(Millis delay) {
  pollfd p{wake_fd_, POLLIN, 0};
  auto deadline = Clock::now() + delay;
  while (!stopping() && Clock::now() < deadline) ::poll(&p, 1, MillisUntil(deadline));
  return !stopping();
}

Result<int> Runner::TakePort() {
  // A replica keeps its port across restarts: the gateway already knows it.
  if (port_ != 0) return port_;
  CARVE_ASSIGN_OR_RETURN(port_, config_.options->ports->Acquire());
  return port_;
}

void Runner::Attempt() {
  auto port = TakePort();
  if (!port.ok()) return Fail(port.status().ToString());
  const ReplicaSpec& spec = config_.spec;
  auto launch = BuildLaunch(spec, *port, config_.options->carve_path);
  if (!launch.ok()) return Fail(launch.status().ToString());
  int pipe_fds[2];
  if (docker()) Docker({"rm", "-f", ContainerName(spec)}, kDockerTimeout);
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Fail(fmt::format("pipe: {}", std::strerror(errno)));
  ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);  // the read end only: the engine's end blocks
  Note(fmt::format("starting {} on {} port {} as {}: {}", spec.id, spec.uuid, *port,
                   config_.user.name, fmt::join(launch->argv, " ")));
  SpawnRequest req{launch->argv, EngineEnvironment(launch->env, config_.user), config_.workdir,
                   config_.user, pipe_fds[1]};
  auto child = Spawn(req);
  ::close(pipe_fds[1]);
  if (!child.ok()) {
    ::close(pipe_fds[0]);
    return Fail(child.status().ToString());
  }
  kill_reason_.reset();
  started_ = Clock::now();
  SetState(State::kStarting, [&](ReplicaStatus& s) {
    s.pid = child->pid;
    s.port = *port;
    s.ready_timed_out = false;
  });
  int out_fd = pipe_fds[0];
  Supervise(*child, out_fd);
  if (out_fd >= 0) ::close(out_fd);
  ::close(child->pidfd);
}

void Runner::Supervise(const Child& child, int& out_fd) {
  const ProbeSpec& probe = config_.probe;
  auto next_probe = Clock::now();
  bool ready = false;
  int live_failures = 0;
  for (;;) {
    pollfd fds[3] = {{child.pidfd, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {out_fd, POLLIN, 0}};
    int n = ::poll(fds, 3, kill_reason_ ? -1 : MillisUntil(next_probe));
    if (n < 0 && errno != EINTR) break;
    if (fds[2].revents) Drain(out_fd);
    if (fds[0].revents) return OnExit(child, out_fd, ready);
    if (stopping()) return StopChild(child, out_fd);
    if (kill_reason_ || Clock::now() < next_probe) continue;
    Probe(ready, live_failures, child.pid);
    next_probe = Clock::now() + Millis(ready ? probe.live_interval_ms : probe.ready_interval_ms);
  }
  StopChild(child, out_fd);
}

void Runner::Probe(bool& ready, int& live_failures, pid_t pgid) {
  const ProbeSpec& probe = config_.probe;
  Status s = RunChecks(ready ? probe.live : probe.ready, port_, config_.spec.model,
                       Millis(probe.timeout_ms));
  bool http = !(ready ? probe.live : probe.ready).empty();
  // A stranger answered? (A container's port is Docker's proxy's, and Docker
  // refuses to start a container on a port another program holds.)
  if (!ready && s.ok() && http && !docker() && !GroupListensOn(pgid, port_))
    s = Status::Error(Code::kInUse,
                      fmt::format("port {} answers, but not from this engine", port_));
  if (!ready && s.ok()) {
    ready = true;
    tracker_.OnReady();
    return SetState(State::kReady, [](ReplicaStatus& st) { st.last_error.clear(); });
  }
  if (!ready) {
    if (Clock::now() - started_ < Millis(probe.ready_timeout_ms)) return;
    kill_reason_ = fmt::format("{} on {} was not ready after {} ({}); last lines of {}:\n{}",
                               config_.spec.id, config_.spec.uuid, Seconds(probe.ready_timeout_ms),
                               s.message(), log_.path(), Indent(Tail()));
    // The reason goes with the flag: a waiter that wakes on the flag reads
    // why at once (it used to see the flag before the reason, and said
    // nothing of the log).
    Update([&](ReplicaStatus& st) {
      st.ready_timed_out = true;
      st.last_error = *kill_reason_;
    });
    ::kill(-pgid, SIGKILL);  // its exit comes through the pidfd
    return;
  }
  if (s.ok()) {
    live_failures = 0;
    if (status().state == State::kUnhealthy) SetState(State::kReady);
    return;
  }
  SetState(State::kUnhealthy, [&](ReplicaStatus& st) { st.last_error = s.message(); });
  if (++live_failures < probe.failures_to_restart) return;
  kill_reason_ = fmt::format("{} failed {} liveness probes in a row ({}); restarting it",
                             config_.spec.id, live_failures, s.message());
  ::kill(-pgid, SIGKILL);
}

void Runner::Drain(int& out_fd) {
  char buf[16384];
  while (out_fd >= 0) {
    ssize_t n = ::read(out_fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: all read for now
    if (n == 0) {       // every writer is gone
      ::close(out_fd);
      out_fd = -1;
      return;
    }
    Status s = log_.Write(std::string_view(buf, n));
    (void)s;  // a full disk must not stop the engine; the log says nothing more
  }
}

void Runner::OnExit(const Child& child, int& out_fd, bool ready) {
  int status = Reap(child.pid);
  KillGroupAndWait(child.pid, Millis(5000));  // what the engine left behind
  if (docker()) Docker({"rm", "-f", ContainerName(config_.spec)}, kDockerTimeout);
  Drain(out_fd);
  std::string exit = DescribeWaitStatus(status);
  std::string why = kill_reason_.value_or("");
  if (why.empty()) {
    std::string tail = Tail();
    if (!ready && LogSaysAddressInUse(tail) && config_.fixed_port == 0) {
      config_.options->ports->Release(port_);  // the next attempt takes another
      why = fmt::format("port {} was taken by another program; trying another port", port_);
      port_ = 0;
    } else {
      why = fmt::format("{} on {} {} ({}); last lines of {}:\n{}", config_.spec.id,
                        config_.spec.uuid, ready ? "exited" : "exited before it was ready", exit,
                        log_.path(), Indent(tail));
    }
  }
  Note(fmt::format("engine pid {} ended: {}", child.pid, exit));
  Update([&](ReplicaStatus& s) {
    s.pid = 0;
    s.last_exit = exit;
    s.last_error = why;
  });
}

bool Runner::WaitExit(const Child& child, int& out_fd, Clock::time_point deadline) {
  for (;;) {
    pollfd fds[2] = {{child.pidfd, POLLIN, 0}, {out_fd, POLLIN, 0}};
    int n = ::poll(fds, 2, MillisUntil(deadline));
    if (n > 0 && fds[0].revents) return true;
    if (n > 0 && fds[1].revents) Drain(out_fd);
    if (n == 0) return false;
  }
}

void Runner::StopChild(const Child& child, int& out_fd) {
  SetState(State::kStopping);
  Millis grace = config_.options->stop_grace;
  auto deadline = Clock::now() + grace;
  if (docker()) {  // SIGTERM to the container, SIGKILL after the grace; then the CLI exits
    auto secs = std::max<int64_t>(1, (grace.count() + 999) / 1000);
    Docker({"stop", "-t", std::to_string(secs), ContainerName(config_.spec)},
           grace + kDockerTimeout);
    deadline = std::max(deadline, Clock::now() + Millis(5000));
  } else {
    ::kill(-child.pid, SIGTERM);
  }
  if (!WaitExit(child, out_fd, deadline)) {
    ::kill(-child.pid, SIGKILL);
    WaitExit(child, out_fd, Clock::now() + Millis(10'000));  // SIGKILL is not refused
  }
  int status = Reap(child.pid);
  // The group outlives its leader while its other processes shut down; give
  // them what is left of the grace period (bounded polling: no event exists).
  while (Clock::now() < deadline && !LiveGroupMembers(child.pid).empty()) ::poll(nullptr, 0, 20);
  KillGroupAndWait(child.pid, Millis(5000));
  if (docker() && status < 0) Docker({"rm", "-f", ContainerName(config_.spec)}, kDockerTimeout);
  Drain(out_fd);
  Note(fmt::format("engine pid {} stopped: {}", child.pid,
                   status < 0 ? "still running" : DescribeWaitStatus(status)));
  Update([&](ReplicaStatus& s) {
    s.pid = 0;
    s.last_error.clear();
    if (status >= 0) s.last_exit = DescribeWaitStatus(status);
  });
}

void Runner::Docker(std::vector<std::string> args, Millis timeout) {
  args.insert(args.begin(), "docker");
  auto r = RunCommand({args, EngineEnvironment({}, config_.user), config_.user, timeout});
  if (!r.ok())
    Note(fmt::format("{}: {}", fmt::join(args, " "), r.status().message()));
  else if (r->exit_code != 0)
    Note(fmt::format("{}: exit {}: {}", fmt::join(args, " "), r->exit_code, r->output));
}

}  // namespace carve::serve
