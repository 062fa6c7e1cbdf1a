// Status: what `carve up` serves, as the JSON it writes to STATE_DIR/status.json
// (state_dir.h) and the table `carve status` prints. Pure: built from a view
// the service assembles (engines, slots, traffic, the GPUs as last read).
//
// status.json, version "v1" (docs/up.md, "carve status"; one written with
// version 1 by an earlier carve is read too):
//   {"version": "v1", "pid", "spec", "state_dir", "gateway": {"listen", "url"},
//    "replicas": [{"id", "model", "gpu", "profile", "start", "uuid",
//                  "memory_used_mib", "memory_total_mib", "engine", "launcher",
//                  "pid", "port", "state", "restarts", "requests",
//                  "requests_per_s" (over traffic_window_s), "errors", "last_exit", "last_error",
//                  "log"}],
//    "reload_error",
//    "models": [{"model", "replicas", "ready", "requests", "errors", "requests_per_s",
//                "tokens_per_s", "errors_per_s", "latency_ms": {"p50", "p99"} | null,
//                "ttft_ms": {"p50", "p99"} | null, "in_flight", "queued"}],
//    "traffic_window_s",
//    "quarantined": [{"slice": "0:1g.10gb@0", "why", "since"}],  (failover.h)
//    "spares": ["0:1g.10gb@6", …],
//    "pools": [{"name", "slices": [{"slice", "memory_mib", "residents": [...]}],
//               "memory_mib", "memory_used_mib", "models": [...]}]}  (docs/pools.md; only
//               with on-demand models, added by the service: service_pool.cpp)
// Fields are only ever added within a version.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "device/machine.h"
#include "serve/supervisor.h"
#include "up/desired.h"
#include "up/failover.h"
#include "up/traffic.h"

namespace carve::up {

// One replica: its engine as the supervisor sees it, where it runs, its traffic.
struct ReplicaView {
  serve::ReplicaStatus engine;
  Slot slot;
  serve::Launcher launcher = serve::Launcher::kProcess;
  uint64_t requests = 0, errors = 0;
  double requests_per_s = 0;
};

struct ServiceView {
  int pid = 0;
  std::string spec, state_dir;
  std::string listen;  // "127.0.0.1:8000"
  std::vector<ReplicaView> replicas;
  std::vector<device::Gpu> gpus;  // for each slice's memory
  std::string reload_error;
  std::vector<std::string> models;              // every model of the spec
  std::map<std::string, ModelTraffic> traffic;  // by model (traffic.h)
  double traffic_window_s = 0;
  std::vector<Quarantine> quarantined;   // slices carve up no longer uses, and why
  std::vector<device::SliceRef> spares;  // empty slices kept for failover (spec `spare:`)
};

// status.json's content; replicas sorted by id.
nlohmann::ordered_json StatusJson(const ServiceView& view);

// The status as a table for people.
std::string StatusText(const nlohmann::ordered_json& status);

}  // namespace carve::up
