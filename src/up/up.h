// carve up: from a spec to serving models, as one long-running service.
//
// A Service plans the spec on the machine's GPUs (keeping what runs), applies
// the plan's layout, starts one engine per replica on its slice (through the
// serve/ Supervisor) and puts the in-process gateway in front of the ready
// ones. Reload() re-plans a (changed) spec and changes only what differs:
// replicas whose model settings and slice are unchanged keep their engines.
//
// Its parts, each in its own file:
//   desired.h     spec + plan → the layouts and the wanted replicas
//   reconcile.h   desired × running → keep / move / start / stop (pure)
//   moves.h       make-before-break: StayPut, the interim layout (pure)
//   rebalance.h   whether a re-plan is worth its moves (pure; carve rebalance)
//   service_impl.h, service.cpp, layout_change.cpp, engines.cpp: the service
//   state_dir.h   the files it shares with `carve up/down/status`
//   status.h      status.json and the `carve status` table
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

#include "device/machine.h"
#include "up/rebalance.h"
#include "util/status.h"

namespace carve::up {

// What the service needs from its caller (the CLI knows which machine).
struct Hooks {
  std::function<Result<std::unique_ptr<device::Machine>>()> open_machine;
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
  // Tests: SIGKILL the service at this step of a live change (1–6, service.cpp;
  // CARVE_TEST_CRASH_AT_STEP), as a crash would; 0: never.
  int crash_at_step = 0;
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
  // what still runs and says why. `replan`: a rebalance (rebalance.h) plans
  // as it says and frees the GPUs its plan leaves unused.
  Status Reload(const std::string& spec_path, Replan replan = Replan::kNone);
  // Tells the machine about new engine PIDs (the simulator attaches them to
  // their slices), updates the gateway's backends, reads its counters and
  // writes status.json.
  void Tick();
  // Quarantines slices the device reports failed and slices whose engine
  // crash-loops, and re-places their replicas (failover.h); Ok when nothing
  // failed. Called by RunService's loop after each Tick.
  Status Failover();
  // On-demand models (docs/pools.md): loads those the gateway holds requests
  // for (evicting idle ones for room), notes loads done or failed, takes
  // carve pool load/unload requests. Called by RunService's loop after each Tick.
  void Pools();
  // Wakes RunService's loop: an engine changed state.
  int wake_fd() const;

  // Drains the gateway for up to `drain`, stops every engine.
  void Stop(std::chrono::milliseconds drain);

  std::string listen() const;               // "127.0.0.1:8000"
  std::chrono::milliseconds drain() const;  // the gateway's timeouts.drain_ms
  nlohmann::ordered_json StatusJson();

 private:
  struct Impl;  // service_impl.h
  explicit Service(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs a service in this process until SIGINT/SIGTERM (then drains, stops the
// engines and returns Ok) and reloads on SIGHUP (STATE_DIR/reload.request
// names the spec; the answer goes to reload.result). `on_ready` is called once
// serving, with the gateway's listen address; `tty` draws a live summary.
Status RunService(const std::string& spec_path, Options options, Hooks hooks,
                  const std::function<void(const std::string& listen)>& on_ready, bool tty);

}  // namespace carve::up
