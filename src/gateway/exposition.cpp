#include "gateway/exposition.h"

#include <fmt/format.h>

#include <unordered_map>

namespace carve::gateway {
namespace {

using Replicas = std::vector<std::shared_ptr<Replica>>;
// `key="name"` by key tag, escaped once per scrape.
using KeyLabels = std::unordered_map<uint64_t, std::string>;

KeyLabels KeyLabelsOf(const KeyRing& keys) {
  KeyLabels out{{0, "key=\"\""}};
  for (const auto& k : keys.keys()) out[k.tag] = "key=\"" + EscapeLabel(k.name) + '"';
  return out;
}

using Counted = std::vector<std::vector<KeyedCounts::Entry>>;  // per replica

void Requests(PromWriter& w, const Replicas& all, const Counted& counted, const KeyLabels& keys) {
  w.Family("carve_gateway_requests_total", "counter",
           "Answers relayed from each replica, by API key and HTTP status.");
  std::string extra;
  for (size_t i = 0; i < all.size(); ++i)
    for (const auto& e : counted[i]) {
      auto key = keys.find(e.key_tag);
      if (key == keys.end()) continue;
      extra = key->second + ",status=\"" + std::to_string(e.code) + '"';
      w.Sample("carve_gateway_requests_total", all[i]->labels(), extra, e.count);
    }
}

// About how long the page will be, so that it is allocated once: each replica
// writes its label set on some 40 lines (histograms, gauges) and on one line
// per (key, status) it answered.
size_t PageBytes(const Replicas& all, const Counted& counted, size_t extra) {
  size_t bytes = extra + 4096;
  for (size_t i = 0; i < all.size(); ++i)
    bytes += (all[i]->labels().size() + 96) * (40 + counted[i].size());
  return bytes;
}

void Histograms(PromWriter& w, const Replicas& all) {
  w.Family("carve_gateway_request_duration_seconds", "histogram",
           "Time from a complete request to the end of the answer, per replica tried.");
  for (const auto& r : all)
    w.WriteHistogram("carve_gateway_request_duration_seconds", r->labels(), r->duration);
  w.Family("carve_gateway_time_to_first_token_seconds", "histogram",
           "Time from a complete request to the first body bytes of the answer "
           "(the first token of a stream).");
  for (const auto& r : all)
    w.WriteHistogram("carve_gateway_time_to_first_token_seconds", r->labels(), r->first_byte);
}

void ReplicaGauges(PromWriter& w, const Replicas& all) {
  w.Family("carve_gateway_in_flight_requests", "gauge", "Requests a replica is serving now.");
  for (const auto& r : all)
    w.Sample("carve_gateway_in_flight_requests", r->labels(), "",
             static_cast<uint64_t>(std::max(0, r->outstanding())));
  w.Family("carve_gateway_upstream_healthy", "gauge",
           "1 while a replica is in rotation, 0 after a failed connect or probe.");
  for (const auto& r : all)
    w.Sample("carve_gateway_upstream_healthy", r->labels(), "", r->healthy() ? 1 : 0);
  w.Family("carve_gateway_upstream_connect_failures_total", "counter",
           "Connections to a replica that failed.");
  for (const auto& r : all)
    w.Sample("carve_gateway_upstream_connect_failures_total", r->labels(), "",
             r->connect_failures.load(std::memory_order_relaxed));
  w.Family("carve_gateway_generated_tokens_total", "counter",
           "Tokens a replica generated, from its answers' usage.completion_tokens, else one "
           "per streamed event.");
  for (const auto& r : all)
    w.Sample("carve_gateway_generated_tokens_total", r->labels(), "",
             r->tokens.load(std::memory_order_relaxed));
}

std::string ErrorLabels(const std::string& model_label, std::string_view key_label,
                        ErrorKind kind) {
  const ErrorInfo& info = InfoFor(kind);
  return fmt::format("{},{},code=\"{}\",status=\"{}\"", model_label, key_label, info.code,
                     info.status);
}

void Errors(PromWriter& w, const std::vector<std::shared_ptr<ModelPool>>& pools,
            const ErrorCounts& unrouted, const KeyLabels& keys) {
  w.Family("carve_gateway_errors_total", "counter",
           "Answers the gateway gave itself, by model, API key and error code (model and key "
           "are empty before they are known).");
  for (size_t k = 0; k < unrouted.size(); ++k)
    if (uint64_t n = unrouted[k].load(std::memory_order_relaxed))
      w.Sample("carve_gateway_errors_total",
               ErrorLabels("model=\"\"", "key=\"\"", static_cast<ErrorKind>(k)), "", n);
  for (const auto& p : pools) {
    std::string model = "model=\"" + EscapeLabel(p->name()) + '"';
    for (const auto& e : p->errors.NonZero()) {
      auto key = keys.find(e.key_tag);
      if (key == keys.end() || e.code >= static_cast<uint32_t>(ErrorKind::kCount)) continue;
      w.Sample("carve_gateway_errors_total",
               ErrorLabels(model, key->second, static_cast<ErrorKind>(e.code)), "", e.count);
    }
  }
}

}  // namespace

std::string RenderMetrics(const Router& router, const ErrorCounts& unrouted,
                          const GatewayGauges& gauges, const std::string& extra,
                          const KeyRing& keys) {
  PromWriter w;
  auto pools = router.Pools();
  Replicas all;
  for (const auto& p : pools) {
    auto rs = p->replicas();
    all.insert(all.end(), rs.begin(), rs.end());
  }
  KeyLabels key_labels = KeyLabelsOf(keys);
  Counted counted;
  for (const auto& r : all) counted.push_back(r->requests.NonZero());
  w.Reserve(PageBytes(all, counted, extra.size()));
  Requests(w, all, counted, key_labels);
  Histograms(w, all);
  ReplicaGauges(w, all);
  w.Family("carve_gateway_queue_depth", "gauge", "Requests waiting for a slot, per model.");
  for (const auto& p : pools)
    w.Sample("carve_gateway_queue_depth", {{"model", p->name()}}, p->queue_depth());
  w.Family("carve_model_wait_for_replica_seconds", "histogram",
           "How long requests that found no ready replica of a model waited for one (an "
           "on-demand model loading, an engine restarting), whatever ended the wait.");
  for (const auto& p : pools)
    w.WriteHistogram("carve_model_wait_for_replica_seconds", {{"model", p->name()}},
                     p->replica_wait);
  Errors(w, pools, unrouted, key_labels);
  w.Family("carve_gateway_open_connections", "gauge", "Client connections open now.");
  w.Sample("carve_gateway_open_connections", {}, gauges.connections);
  w.Family("carve_gateway_draining", "gauge", "1 while the gateway drains before exiting.");
  w.Sample("carve_gateway_draining", {}, gauges.draining ? 1 : 0);
  w.Raw(extra);
  return std::move(w).Take();
}

}  // namespace carve::gateway
