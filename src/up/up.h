// carve up: from a spec to serving models, as one long-running service.
//
// A Service plans the spec on the machine's GPUs (keeping what runs), applies
// the plan's layout, starts one engine per replica on its slice (through the
// serve/ Supervisor) and puts the in-process gateway in front of the ready
// ones. Reload() re-plans a (changed) spec and changes only what differs:
// replicas whose model config and slice are unchanged keep their engines.
//
// The service writes its status to STATE_DIR/status.json (atomically, on every
// change and every second), which `carve status` reads. docs/up.md has the
// whole lifecycle. Not thread-safe: one thread (RunService's loop) drives it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "device/machine.h"
#include "plan/plan.h"
#include "serve/engine.h"
#include "spec/spec.h"
#include "util/status.h"

namespace carve::up {

// What the service needs from its caller (the CLI owns machine and planner).
struct Hooks {
  std::function<Result<std::unique_ptr<device::Machine>>()> open_machine;
  // Plans `spec` on these GPUs (their current slices are kept where they can be).
  std::function<Result<plan::Plan>(const spec::Spec&, const std::vector<device::Gpu>&)> plan;
};

struct Options {
  std::string state_dir;                      // status.json, up.pid, engines/, logs/, access.log
  std::string journal_dir;                    // the apply journal (carve apply's state dir)
  std::string carve_path;                     // the echo engine's binary; default: this process's
  int ready_timeout_ms = 0;                   // 0: each engine's default (docs/serve.md)
  bool keep_going = false;                    // serve what became ready instead of failing
  int port_first = 20000, port_last = 20999;  // engine ports
  std::chrono::milliseconds stop_grace{10'000};
  std::function<void(const std::string&)> note;  // progress lines
  // Asked every 200 ms while engines start: true (SIGTERM, SIGINT) stops the
  // start-up at once, engines stopped, with an error saying so.
  std::function<bool()> interrupted;
};

class Service {
 public:
  // Plans, applies, starts the gateway and every engine, and waits until they
  // are ready (or, with keep_going, have failed). On error nothing keeps running.
  static Result<std::unique_ptr<Service>> Start(const std::string& spec_path, Options options,
                                                Hooks hooks);
  ~Service();  // Stop(0)
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Re-plans `spec_path` and changes only what differs. A failed reload keeps
  // what still runs and says why.
  Status Reload(const std::string& spec_path);
  // Attaches new engine PIDs to their slices (simulator), updates the
  // gateway's backends, scrapes its metrics and writes status.json.
  void Tick();
  // Wakes RunService's loop: an engine changed state.
  int wake_fd() const;

  // Drains the gateway for up to `drain`, stops every engine.
  void Stop(std::chrono::milliseconds drain);

  std::string listen() const;               // "127.0.0.1:8000"
  std::chrono::milliseconds drain() const;  // the gateway's timeouts.drain_ms
  nlohmann::ordered_json StatusJson();

 private:
  struct Impl;
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs a service in this process until SIGINT/SIGTERM (then drains, stops the
// engines and returns Ok) and reloads on SIGHUP (STATE_DIR/reload.request
// names the spec; the answer goes to reload.result). `on_ready` is called once
// serving, with the gateway's listen address; `tty` draws a live summary.
Status RunService(const std::string& spec_path, Options options, Hooks hooks,
                  const std::function<void(const std::string& listen)>& on_ready, bool tty);

// The replicas a plan places, with ids ("MODEL/N"), where each one's slice
// is (`slice`: "0:3g.40gb@4") and its MIG UUID from `gpus` (the machine now)
// where the slice exists, else a placeholder "MIG-<gpu>-<profile>@<start>"
// (counted in `placeholders`). For `carve render docker`.
Result<std::vector<serve::ReplicaSpec>> ReplicasFromPlan(const plan::Plan& p, const spec::Spec& s,
                                                         const std::vector<device::Gpu>& gpus,
                                                         int& placeholders);

// --- the state directory, shared by the service and `carve up/down/status` ---

// The PID of the running service in `state_dir`, or 0 when none runs.
int RunningPid(const std::string& state_dir);
// Asks the service running in `state_dir` to reload `spec_path` and waits
// (up to `timeout`) for its answer.
Status RequestReload(const std::string& state_dir, const std::string& spec_path,
                     std::chrono::milliseconds timeout);
// Stops the service in `state_dir` (SIGTERM) and waits until it and every
// engine it ran are gone (engines left over are killed by process group).
// Returns the message to print.
Result<std::string> Down(const std::string& state_dir, std::chrono::milliseconds timeout);
// status.json of the running service; kNotFound when none runs.
Result<nlohmann::ordered_json> ReadStatus(const std::string& state_dir);
// The status as a table for people.
std::string StatusText(const nlohmann::ordered_json& status);

}  // namespace carve::up
