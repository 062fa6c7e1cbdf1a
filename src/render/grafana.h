// `carve render grafana`: a Grafana dashboard over the metrics carve up's
// gateway exposes (docs/observe.md): GPU and slice panels (utilisation,
// memory, what still fits, stranded units, engines), per-model traffic
// (requests, tokens of time: latency and time to first token, queues) and
// errors. It is in Grafana's export form, with the Prometheus data source as
// an input, so Dashboards → Import takes the file as it is.
#pragma once

#include <string>

namespace carve::render {

// The dashboard as JSON text.
std::string GrafanaDashboard();

}  // namespace carve::render
