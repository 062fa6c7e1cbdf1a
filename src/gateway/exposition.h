// The gateway's /metrics page, rendered from the router's live counters.
// docs/observe.md lists every family and its labels. Pure: no sockets, so a
// unit test and promtool can both check it.
#pragma once

#include <string>

#include "gateway/keys.h"
#include "gateway/router.h"

namespace carve::gateway {

struct GatewayGauges {
  int connections = 0;
  bool draining = false;
};

// Every family, in the Prometheus text format. Series about a replica carry
// BackendLabels; request and error counts add `key`, the name of the key the
// request came with ("" without keys) from `keys`: counts of a key that a
// reload removed are left out. `extra` (lines from elsewhere, e.g. per-slice
// memory from `carve up`) is appended verbatim.
std::string RenderMetrics(const Router& router, const ErrorCounts& unrouted,
                          const GatewayGauges& gauges, const std::string& extra,
                          const KeyRing& keys);

}  // namespace carve::gateway
