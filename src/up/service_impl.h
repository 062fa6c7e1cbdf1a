// The service's insides (up.h), shared by the files that implement it:
// service.cpp (start, converge, reload, stop), layout_change.cpp (preflight
// and the apply of a plan's layout) and engines.cpp (replicas: start, stop,
// wait, and the tick that feeds the gateway and writes the status).
// One thread drives it (see up.h).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
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
#include "up/pool.h"
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
  std::string pool = {};      // an on-demand model's engine: its pool ("" for a pinned replica)
  int pool_slot = -1;         // and the pool slice it loaded on
  bool load_counted = false;  // its cold start is in the load statistics
};

// An on-demand model (docs/pools.md): where it loads and what it needs.
struct OnDemandModel {
  std::string pool;
  uint64_t need_mib = 0;
  int64_t keep_warm_s = 300;  // -1: forever
};

// What a model's loads cost, for the status and /metrics.
struct LoadStats {
  uint64_t cold_starts = 0, evictions = 0, failures = 0;
  std::vector<double> load_s;  // each load's start → ready, seconds (the last 1000)
};

// Requests for cold on-demand models, from the gateway's threads to the loop.
struct DemandBox {
  std::mutex mu;
  std::set<std::string> models;
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
  std::vector<std::string> listed;  // the models the gateway was last told of
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

  // On-demand models and their pools (service_pool.cpp).
  std::map<std::string, OnDemandModel> on_demand;  // by model
  std::map<std::string, std::vector<Slot>> pools;  // each pool's slices, by pool name
  std::map<std::string, std::chrono::steady_clock::time_point> pending;  // model → last asked
  std::map<std::string, std::string> waiting_why;  // model → why it cannot load yet (noted once)
  std::map<std::string, std::chrono::steady_clock::time_point> last_used;  // by model
  std::map<std::string, int> in_flight;                                    // by model
  std::map<std::string, int> queued;                // requests the gateway holds, by model
  std::map<std::string, LoadStats> loads;           // by model
  std::map<std::string, std::string> model_states;  // as last told to the gateway
  std::shared_ptr<DemandBox> demand = std::make_shared<DemandBox>();

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

  // service_pool.cpp
  // The spec's on-demand models and the plan's pools; stops the residents
  // whose pool slice or settings the new plan no longer has.
  Status SetPools(const spec::Spec& next, const plan::Plan& p);
  // Loads what the gateway asked for, evicting idle residents for room;
  // notes loads done or failed; tells the gateway each model's state.
  void ServePools();
  void LoadOrWait(const std::string& model, std::chrono::steady_clock::time_point now);
  void CheckLoads();
  // A pool replica's first ready: a cold start, counted once (from NoteStateChange).
  void NoteLoaded(const std::string& id, Replica& r, std::chrono::steady_clock::duration took);
  PoolView PoolViewOf(const std::string& pool) const;
  std::string ModelState(const std::string& model) const;  // "resident", "loading", "cold"
  void TellStates();  // the gateway's view of each on-demand model, when it changed
  nlohmann::ordered_json PoolsJson() const;
  std::string PoolMetrics() const;
  // carve pool load/unload (STATE_DIR/pool.request.*)
  void TakePoolRequests();

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
