// Runner: one replica's life, on its own thread (internal to serve/).
//
// The thread loops: spawn the engine, supervise it until it exits or a stop
// is requested, then wait out the backoff the RestartTracker decides. While
// the engine runs, one poll(2) covers the child's pidfd, its output pipe and
// the runner's wake eventfd; its timeout is the next probe. The thread that
// spawns an engine is the one that waits for it, as PR_SET_PDEATHSIG needs.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "serve/process.h"
#include "serve/supervisor.h"

namespace carve::serve {

struct RunnerConfig {
  ReplicaSpec spec;
  ProbeSpec probe;
  EngineUser user;
  std::string workdir;
  std::string log_path;  // in a directory only carve can write (see supervisor.h)
  int fixed_port = 0;    // already acquired from the allocator; 0: pick one
  const SupervisorOptions* options = nullptr;  // outlives the runner
  std::function<void(const ReplicaStatus&)> on_change;
};

class Runner {
 public:
  // Opens the log; kIo when it cannot.
  static Result<std::unique_ptr<Runner>> Create(RunnerConfig config);
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  ~Runner();  // stops and joins

  void Begin();
  void RequestStop();  // returns at once; Join waits
  void Join();
  ReplicaStatus status() const;

 private:
  Runner(RunnerConfig config, RotatingLog log, int wake_fd);
  void Run();
  void Attempt();
  // `out_fd` is the engine's output pipe; any of these may close it (-1).
  void Supervise(const Child& child, int& out_fd);
  void Probe(bool& ready, int& live_failures, pid_t pgid);
  void OnExit(const Child& child, int& out_fd, bool ready);
  void StopChild(const Child& child, int& out_fd);
  // launcher: docker. The child is `docker run --rm` in the foreground, but
  // killing it leaves the container: the container is stopped with
  // `docker stop` and removed (`docker rm -f`) after any other end, and
  // before each start (a carve that died left it).
  bool docker() const { return config_.spec.launcher == Launcher::kDocker; }
  void Docker(std::vector<std::string> args, Millis timeout);
  bool WaitExit(const Child& child, int& out_fd, Clock::time_point deadline);
  void Drain(int& out_fd);
  bool Sleep(Millis delay);
  Result<int> TakePort();
  std::string Tail() const;
  void Note(const std::string& line);  // a "=== carve:" line in the engine's log
  void Fail(const std::string& why);   // Note, and the status's last_error
  void Update(const std::function<void(ReplicaStatus&)>& change);
  void SetState(State state, const std::function<void(ReplicaStatus&)>& change = nullptr);
  bool stopping() const { return stop_.load(); }

  RunnerConfig config_;
  RotatingLog log_;  // only the runner thread writes
  const int wake_fd_;
  RestartTracker tracker_;
  int port_ = 0;                            // runner thread only
  Clock::time_point started_;               // runner thread only: the last spawn
  std::optional<std::string> kill_reason_;  // runner thread only: why carve killed it
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable util::Mutex mu_;
  ReplicaStatus status_ GUARDED_BY(mu_);
};

}  // namespace carve::serve
