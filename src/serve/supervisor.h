// The supervisor: one engine process per replica, each pinned to its slice by
// MIG UUID, on its own loopback port, with its own working directory and log.
//
// Every replica has one thread that spawns its engine, waits for it (a pidfd,
// so no polling), copies its output into the rotated log, probes it, restarts
// it with exponential backoff and stops it (SIGTERM to its process group,
// SIGKILL after the grace period). Engines never outlive carve: each leads a
// process group that the stop signals, and dies with its replica thread
// (PR_SET_PDEATHSIG). Engines never run as root (see process.h).
//
// Thread-safe. The observer runs on replica threads, with no supervisor lock
// held; it may call Snapshot but must not block for long.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "serve/engine.h"
#include "serve/log_file.h"
#include "serve/ports.h"
#include "serve/restart_policy.h"
#include "util/mutex.h"
#include "util/status.h"

namespace carve::serve {

enum class State { kStarting, kReady, kUnhealthy, kRestarting, kCrashLooping, kStopping, kStopped };

// "starting", "ready", "unhealthy", "restarting", "crash-looping", "stopping", "stopped".
const char* StateName(State state);

// One replica as `carve status` shows it.
struct ReplicaStatus {
  std::string id;
  std::string model;
  std::string uuid;
  EngineKind engine = EngineKind::kEcho;
  std::string user;
  State state = State::kStarting;
  int pid = 0;  // 0 while no engine runs
  int port = 0;
  int restarts = 0;              // engines started after the first
  std::string last_exit;         // "exit 1", "signal 9 (Killed)"; "" before any exit
  std::string last_error;        // why the last attempt failed, with the log's tail
  bool ready_timed_out = false;  // the last attempt was not ready in time
  std::string workdir;
  std::string log_path;
  Clock::time_point since;  // when `state` began
};

struct SupervisorOptions {
  // Required. engines/<id>/ is each engine's working directory, owned by its
  // user; logs/<id>.log its log, owned by its user in a directory only carve
  // writes (so an engine cannot point its log elsewhere).
  std::string state_dir;
  std::string carve_path;  // the echo engine's binary; default: this process's
  RestartPolicy restart;
  LogOptions log;
  Millis stop_grace{10'000};
  int log_tail_lines = 20;               // in error messages
  std::shared_ptr<PortAllocator> ports;  // default: a new one on 20000-20999
};

using Observer = std::function<void(const ReplicaStatus&)>;

class Runner;

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;
  ~Supervisor();  // stops every engine

  // Called on every state change. Set it before the first Start.
  void SetObserver(Observer observer);

  // Checks the replica (engine command line, program on PATH, user, fixed
  // port, working directory) and starts supervising it on its own thread.
  // kAlreadyExists for a duplicate id; kInvalidArgument, kNotFound,
  // kNoPermission, kInUse, kIo for a replica that cannot start. Later
  // failures (a crash, a failed spawn) are retried with backoff and shown
  // in the replica's status.
  Status Start(const ReplicaSpec& spec);
  // Stops one replica and forgets it. kNotFound for an unknown id.
  Status Stop(const std::string& id);
  // Stops every replica, in parallel; each gets the full grace period.
  void StopAll();

  std::vector<ReplicaStatus> Snapshot() const;
  Result<ReplicaStatus> Get(const std::string& id) const;

  // Waits until every replica is ready. Fails early, with the replica's
  // error and log tail, when one fails to become ready in its probe's
  // ready_timeout or is crash-looping; kTimeout naming those not ready.
  Status WaitReady(Millis timeout);
  // Waits until `pred` holds for replica `id` (false on timeout or unknown id).
  bool WaitFor(const std::string& id, const std::function<bool(const ReplicaStatus&)>& pred,
               Millis timeout);

 private:
  void OnChange(const ReplicaStatus& status);
  // Waits, with `lock` on mu_, for the next change; false at the deadline.
  bool WaitChange(util::MutexLock& lock, Clock::time_point deadline) REQUIRES(mu_);

  SupervisorOptions options_;
  Observer observer_;
  mutable util::Mutex mu_;
  std::condition_variable_any changed_;
  uint64_t changes_ GUARDED_BY(mu_) = 0;
  std::map<std::string, std::unique_ptr<Runner>> runners_ GUARDED_BY(mu_);
};

}  // namespace carve::serve
