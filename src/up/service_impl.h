// The service's insides (up.h), shared by the files that implement it:
// service.cpp (start, converge, reload, stop), layout_change.cpp (preflight
// and the apply of a plan's layout) and engines.cpp (replicas: start, stop,
// wait, and the tick that feeds the gateway and writes the status).
// One thread drives it (see up.h).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gateway/gateway.h"
#include "plan/plan.h"
#include "serve/supervisor.h"
#include "spec/spec.h"
#include "up/desired.h"
#include "up/failover.h"
#include "up/history.h"
#include "up/moves.h"
#include "up/observe.h"
#include "up/status.h"
#include "up/traffic.h"
#include "up/up.h"

namespace carve::up {

// A replica the service runs: what was wanted, and what it has seen of it.
struct Replica {
  WantedReplica want;
  int noted_pid = 0;                             // the engine PID the machine was told of
  serve::State noted = serve::State::kStarting;  // the last state written to the log
  bool served = false;  // was ready on its slice once: a crash loop there may be the slice's
  std::chrono::steady_clock::time_point started_at = {};  // when carve started it
};

struct Service::Impl {
  Options o;
  Hooks h;
  std::string spec_path;
  spec::Spec spec;
  std::unique_ptr<device::Machine> machine;
  std::unique_ptr<serve::Supervisor> sup;
  std::unique_ptr<gateway::Gateway> gw;
  gateway::GatewayConfig gwcfg;
  int wake = -1;
  std::map<std::string, Replica> replicas;  // by replica id
  std::vector<gateway::Backend> backends;
  std::vector<device::Gpu> gpus_seen;
  UtilisationByGpu utilisation_seen;  // refreshed with the traffic counts (observe.h)
  // The slice families of /metrics and the status as one line of JSON (the
  // dashboard's), handed to the gateway's threads.
  std::shared_ptr<LatestText> slice_metrics = std::make_shared<LatestText>();
  std::shared_ptr<LatestText> status_line = std::make_shared<LatestText>();
  TrafficWindow traffic;   // per-replica and per-model traffic, fed by CountTraffic
  TrafficHistory history;  // the same per model for 15 minutes: STATE_DIR/traffic.json
  std::chrono::steady_clock::time_point last_count{};
  std::string last_status;
  std::chrono::steady_clock::time_point last_write{};
  std::string reload_error;
  // Failover (failover.h): slices no longer used, the spares kept, models
  // whose crash loop already cost a slice (a second one is the engine's fault).
  std::vector<Quarantine> quarantined;
  std::vector<device::SliceRef> spares;
  std::map<std::string, int> crash_moved;  // by model: 1 moved once, 2 told it stays
  std::chrono::steady_clock::time_point last_fault_check{};
  bool hold_spares = false;  // a failover's move: no new spare slice until it is done
  // How long each model's engine last took from its start to ready (the
  // unavailability a stop-first move costs it when no temporary home fits).
  std::map<std::string, std::chrono::milliseconds> ready_time;

  void Note(const std::string& s) const {
    if (o.note) o.note(s);
  }

  // service.cpp
  Status Converge(const std::string& path, bool first, Replan replan = Replan::kNone);
  // The plan's changes for failover: quarantined slices kept empty, their
  // replicas elsewhere, the spec's spares reserved.
  Status PlaceAroundFaults(plan::Plan& p, const spec::Spec& next);
  // failover.cpp's watch: slices newly faulted or crash-looping, and healed.
  std::vector<Quarantine> NewFaults();
  Status Failover();
  // Temporary homes (moves.h) for the `dark` models, as replicas to start
  // before anything stops: each its successor's (in `add`) on free capacity.
  std::vector<WantedReplica> TemporaryReplicas(Interim& interim,
                                               const std::vector<device::Gpu>& gpus,
                                               const std::set<std::string>& dark,
                                               const std::vector<WantedReplica>& add) const;
  // Starts the temporary replicas on their slices and waits for them; their
  // ids join `leaving` (drained and stopped once the successors are ready).
  Status StartTemporary(const std::vector<WantedReplica>& temps, std::vector<Leaving>& leaving);
  void NoteStopsFirst(const Interim& interim, const std::set<std::string>& moving,
                      const std::set<std::string>& dark,
                      const std::vector<WantedReplica>& temps) const;
  // "about 0.6 s (its engine's last start)", or the ready timeout's bound.
  std::string UnavailableFor(const std::string& model) const;
  // Tests only (Options::crash_at_step): SIGKILL itself at step `step` of a live change.
  void CrashPoint(int step) const;
  std::string NewId(const std::string& model) const;

  // layout_change.cpp
  Status Preflight(const std::vector<WantedReplica>& add) const;
  // Applies the layouts; stops the replicas in `going` first (their slices
  // may be in the way). Refuses, changing nothing, where another process
  // uses a slice that must change.
  Status ApplyLayout(const apply::Layouts& layouts, const std::set<std::string>& going);

  // engines.cpp
  Status StartReplica(WantedReplica w, const std::vector<device::Gpu>& gpus, std::string& id);
  void StopReplica(const std::string& id);  // drained first (Drain)
  void Drain(const std::string& id, const std::string& url);
  Status WaitStarted(const std::vector<std::string>& ids);
  std::set<uint32_t> EnginePids() const;
  // Every model of the spec: the gateway keeps them listed while none of
  // their replicas is ready (503 with Retry-After, not 404).
  std::vector<std::string> ModelNames() const;
  void Tick(bool force_write);
  void NoteStateChange(const serve::ReplicaStatus& s, Replica& r);
  void NoteEngine(const serve::ReplicaStatus& s, Replica& r, bool& noted);
  void CountTraffic();
  ServiceView View() const;
  MachineView SlicesView() const;  // the slices joined to their replicas (observe.h)
  nlohmann::ordered_json StatusNow() const;
};

}  // namespace carve::up
