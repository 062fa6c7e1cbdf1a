// carve's gateway: one OpenAI-compatible endpoint in front of every replica.
//
// Usable alone (`carve gateway --config FILE`) or embedded (`carve up` feeds
// it the replicas it starts through UpdateBackends). The header is free of
// Beast and Asio on purpose: users of the gateway do not pay for them.
//
// Thread-safety: every method may be called from any thread while the gateway
// serves on its own threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/backend.h"
#include "gateway/config.h"
#include "util/status.h"

namespace carve::gateway {

// One replica's counters, the numbers /metrics shows for it.
struct ReplicaCounters {
  std::string model, url;
  uint64_t requests = 0;  // answers relayed from it, any status
  uint64_t errors = 0;    // 5xx answers plus failed connects
  int in_flight = 0;
  bool healthy = true;
  bool draining = false;  // out of rotation (Drain), finishing what it serves
  uint64_t tokens = 0;    // generated tokens relayed from it (usage, else stream events)
  // Request duration and time to first byte, per bucket of
  // LatencyBoundsSeconds() then above the last (not cumulative).
  std::vector<uint64_t> duration = {}, first_byte = {};
  int queued = 0;  // requests of its model waiting for a slot (the model's, not its own)
  // When a request was last sent to it (the clock's epoch when never): carve
  // up unloads the least recently used idle on-demand model.
  std::chrono::steady_clock::time_point last_request = {};
};

// The upper bounds, in seconds, of ReplicaCounters' latency buckets.
std::vector<double> LatencyBoundsSeconds();

class Gateway {
 public:
  // Binds config.listen and starts serving. Fails if the address is taken or a
  // backend url or the access log is bad.
  static Result<std::unique_ptr<Gateway>> Start(const GatewayConfig& config);
  ~Gateway();  // Stop(0) if not stopped yet
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  uint16_t port() const;  // the bound port (useful with listen port 0)

  // Replaces the backends; model limits stay as configured. Replicas that stay
  // keep their health and counters; requests in flight finish where they are.
  // `models` names models that exist even while none of their replicas is
  // ready (an engine restarting): they stay listed, /ready says they lack a
  // replica, and their requests get 503 upstream_unavailable with Retry-After,
  // which clients retry, rather than 404 model_not_found, which they do not.
  Status UpdateBackends(const std::vector<Backend>& backends,
                        const std::vector<std::string>& models = {});
  // Takes the replica at `url` out of rotation: new requests go to the
  // model's other replicas (or wait for one), those it serves finish there.
  // Counters() keeps showing it (its in_flight falls to 0) until
  // UpdateBackends drops it. kNotFound when no replica has that url.
  Status Drain(const std::string& url);
  // Applies a new config (backends, keys, limits, timeouts, probes). `listen`,
  // `threads` and `access_log` need a restart and are refused when changed.
  Status Reload(const GatewayConfig& config);
  // Text appended to every /metrics answer (e.g. per-slice memory, added by
  // `carve up`). Called on a gateway thread at each scrape; must be fast.
  void SetExtraMetrics(std::function<std::string()> fn);
  // The dashboard's data: `fn` returns what carve up serves as one line of
  // JSON (its status.json). Until it is set the gateway has no dashboard
  // (/ui is 404: a gateway alone knows no slices). Called on a gateway thread
  // for each /ui/state and each second of each /ui/events; must be fast.
  void SetStatusSource(std::function<std::string()> fn);
  // On-demand models (issue #16). `fn` is called with a model's name each
  // time a request of it finds no ready replica (it is then held, up to
  // timeouts.hold_ms, or refused at once when hold_ms is 0 or its queue is
  // full), pinned models too: carve up loads an on-demand model then. Called
  // on a gateway thread, without the gateway's locks; must be fast (record and
  // wake). The model must be known (a backend's, or UpdateBackends' `models`),
  // else its requests are 404 and nothing is called.
  void SetDemandHandler(std::function<void(const std::string& model)> fn);
  // The on-demand models and their state ("cold", "loading"), replacing the
  // last map. /v1/models shows each model's state in `carve.state`:
  // "resident" whenever a replica is ready, else the state given here, else
  // (a pinned model) "loading". When a model in this map has no ready replica
  // and its queue is full, requests get 503 load_queue_full (not 429).
  void SetModelStates(std::map<std::string, std::string> states);
  // Answers every request of `model` waiting for a replica at once: 503
  // model_load_failed, Retry-After, `reason` as the message (say what failed
  // and where to look). Does nothing while a replica of it is ready (those
  // requests wait for a slot) or when the model is unknown. Requests that come
  // later are held again, for the next load.
  void FailWaiting(const std::string& model, const std::string& reason);
  // Every replica's counters now, by model then url (for `carve up`, which
  // embeds the gateway, without a scrape of its own /metrics).
  std::vector<ReplicaCounters> Counters() const;
  // Requests waiting per model, for a slot or for a ready replica: also for a
  // model with no replica at all (an on-demand model loading).
  std::map<std::string, int> QueueDepths() const;

  // Stops accepting, closes idle connections, lets requests in flight (streams
  // too) finish for up to `drain`, then closes what is left. Blocks until done.
  void Stop(std::chrono::milliseconds drain);

 private:
  struct Impl;
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `carve gateway`: loads the config, serves until SIGINT/SIGTERM (then drains
// for timeouts.drain_ms) and reloads the file on SIGHUP. A reload that fails
// keeps the running config and logs why. Writes the bound port to `port_file`
// when given (after the socket listens), so a supervisor can learn it.
Status ServeFromConfigFile(const std::string& path, const std::string& port_file);

}  // namespace carve::gateway
