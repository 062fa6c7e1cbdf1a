// Private to the gateway: active health probes (probe.cpp).
#pragma once

#include "gateway/executor.h"
#include "gateway/gateway_state.h"
#include "gateway/worker.h"

namespace carve::gateway::net {

// Probes every replica's health path forever (on one worker), and fetches the
// model card of each replica that has none yet.
Task<void> RunProber(GatewayState& state, Worker& worker);

}  // namespace carve::gateway::net
