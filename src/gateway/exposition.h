// The gateway's /metrics page, rendered from the router's live counters.
// docs/gateway.md lists every family. Pure: no sockets, so a unit test and
// promtool can both check it.
#pragma once

#include <string>

#include "gateway/router.h"

namespace carve::gateway {

struct GatewayGauges {
  int connections = 0;
  bool draining = false;
};

// Every family, in the Prometheus text format; `extra` (lines from elsewhere,
// e.g. per-slice memory) is appended verbatim.
std::string RenderMetrics(const Router& router, const ErrorCounts& unrouted,
                          const GatewayGauges& gauges, const std::string& extra);

}  // namespace carve::gateway
