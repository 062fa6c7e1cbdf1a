#include "gateway/exposition.h"

namespace carve::gateway {
namespace {

Labels ReplicaLabels(const Replica& r) {
  const Backend& b = r.backend();
  return {{"model", b.model}, {"replica", b.url}, {"gpu", b.gpu}, {"slice", b.slice}};
}

Labels With(Labels labels, std::string key, std::string value) {
  labels.emplace_back(std::move(key), std::move(value));
  return labels;
}

using Replicas = std::vector<std::shared_ptr<Replica>>;

void Requests(PromWriter& w, const Replicas& all) {
  w.Family("carve_gateway_requests_total", "counter",
           "Answers relayed from each replica, by HTTP status.");
  for (const auto& r : all)
    for (auto [status, n] : r->responses.NonZero())
      w.Sample("carve_gateway_requests_total",
               With(ReplicaLabels(*r), "status", std::to_string(status)), n);
}

void Histograms(PromWriter& w, const Replicas& all) {
  w.Family("carve_gateway_request_duration_seconds", "histogram",
           "Time from a complete request to the end of the answer, per replica tried.");
  for (const auto& r : all)
    w.WriteHistogram("carve_gateway_request_duration_seconds", ReplicaLabels(*r), r->duration);
  w.Family("carve_gateway_time_to_first_token_seconds", "histogram",
           "Time from a complete request to the first body bytes of the answer "
           "(the first token of a stream).");
  for (const auto& r : all)
    w.WriteHistogram("carve_gateway_time_to_first_token_seconds", ReplicaLabels(*r), r->first_byte);
}

void ReplicaGauges(PromWriter& w, const Replicas& all) {
  w.Family("carve_gateway_in_flight_requests", "gauge", "Requests a replica is serving now.");
  for (const auto& r : all)
    w.Sample("carve_gateway_in_flight_requests", ReplicaLabels(*r), r->outstanding());
  w.Family("carve_gateway_upstream_healthy", "gauge",
           "1 while a replica is in rotation, 0 after a failed connect or probe.");
  for (const auto& r : all)
    w.Sample("carve_gateway_upstream_healthy", ReplicaLabels(*r), r->healthy() ? 1 : 0);
  w.Family("carve_gateway_upstream_connect_failures_total", "counter",
           "Connections to a replica that failed.");
  for (const auto& r : all)
    w.Sample("carve_gateway_upstream_connect_failures_total", ReplicaLabels(*r),
             static_cast<double>(r->connect_failures.load(std::memory_order_relaxed)));
}

void Errors(PromWriter& w, const std::string& model, const ErrorCounts& counts) {
  for (size_t k = 0; k < counts.size(); ++k) {
    uint64_t n = counts[k].load(std::memory_order_relaxed);
    if (n == 0) continue;
    const ErrorInfo& info = InfoFor(static_cast<ErrorKind>(k));
    w.Sample("carve_gateway_errors_total",
             {{"model", model},
              {"code", std::string(info.code)},
              {"status", std::to_string(info.status)}},
             static_cast<double>(n));
  }
}

}  // namespace

std::string RenderMetrics(const Router& router, const ErrorCounts& unrouted,
                          const GatewayGauges& gauges, const std::string& extra) {
  PromWriter w;
  auto pools = router.Pools();
  Replicas all;
  for (const auto& p : pools) {
    auto rs = p->replicas();
    all.insert(all.end(), rs.begin(), rs.end());
  }
  Requests(w, all);
  Histograms(w, all);
  ReplicaGauges(w, all);
  w.Family("carve_gateway_queue_depth", "gauge", "Requests waiting for a slot, per model.");
  for (const auto& p : pools)
    w.Sample("carve_gateway_queue_depth", {{"model", p->name()}}, p->queue_depth());
  w.Family("carve_gateway_errors_total", "counter",
           "Answers the gateway gave itself, by error code (model is empty before routing).");
  Errors(w, "", unrouted);
  for (const auto& p : pools) Errors(w, p->name(), p->errors);
  w.Family("carve_gateway_open_connections", "gauge", "Client connections open now.");
  w.Sample("carve_gateway_open_connections", {}, gauges.connections);
  w.Family("carve_gateway_draining", "gauge", "1 while the gateway drains before exiting.");
  w.Sample("carve_gateway_draining", {}, gauges.draining ? 1 : 0);
  w.Raw(extra);
  return w.text();
}

}  // namespace carve::gateway
