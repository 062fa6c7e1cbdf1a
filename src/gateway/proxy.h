// Private to the gateway: the upstream half (proxy.cpp, relay.cpp), as the
// client half (server.cpp) calls it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gateway/gateway_state.h"
#include "gateway/io.h"
#include "gateway/router.h"
#include "gateway/wire.h"
#include "gateway/worker.h"

namespace carve::gateway::net {

// One model-addressed request, as the session hands it to the proxy.
struct ProxyJob {
  const wire::ClientRequest& req;
  bool keep_alive = true;  // the client's connection stays open after the answer
  std::string model;
  std::string request_id;
  std::string client_ip;
  std::shared_ptr<const Snapshot> snap;
  std::shared_ptr<ModelPool> pool;
  Clock::time_point start;
  uint64_t key_tag = 0;  // the key's (KeyTag), 0 without keys
};

struct ProxyOutcome {
  int status = 0;
  std::string error;                     // the gateway's error code when it answered itself
  const std::string* replica = nullptr;  // url of the replica that answered
  double first_byte_ms = 0;
  uint64_t bytes_out = 0;
  uint64_t tokens = 0;  // generated tokens in the answer relayed (tokens.h)
  bool stream = false;
  bool keep_alive = true;  // false: the client connection must close
};

// Forwards `job` to a replica of its model and relays the answer to `client`,
// on `worker`'s thread.
Task<ProxyOutcome> Proxy(GatewayState& state, Worker& worker, Conn& client, ProxyJob& job);

}  // namespace carve::gateway::net
