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
  // Every replica's counters now, by model then url (for `carve up`, which
  // embeds the gateway, without a scrape of its own /metrics).
  std::vector<ReplicaCounters> Counters() const;

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
