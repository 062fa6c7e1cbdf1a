// Private to the gateway: one worker, an io_context with its thread.
//
// Threading: the gateway runs one io_context per thread ("worker"); a client
// connection and the upstream connections it uses live on one worker, so a
// session never needs a strand. Shared state (router, counters, snapshot,
// gateway_state.h) is thread-safe on its own; a Worker is touched only on its
// own thread.
#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "gateway/executor.h"
#include "gateway/io.h"
#include "gateway/upstream_pool.h"

namespace carve::gateway::net {

struct Watch;     // relay.h
struct Snapshot;  // gateway_state.h

struct Worker {
  // Before ioc: a session's coroutine, destroyed with ioc, unlinks its
  // connection from this list.
  Conn* conns = nullptr;
  bool sweeping = false;
  asio::io_context ioc{1};
  UpstreamPool upstreams;
  std::vector<std::shared_ptr<Watch>> unwatched;  // exchanges whose client is not watched yet
  bool watch_ticking = false;
  std::shared_ptr<const Snapshot> snapshot;  // as this worker last saw it (CurrentSnapshot)
  uint64_t snapshot_version = 0;
  std::thread thread;
};

}  // namespace carve::gateway::net
