#include "render/grafana.h"

#include <nlohmann/json.hpp>
#include <vector>

namespace carve::render {
namespace {

using Json = nlohmann::ordered_json;

const Json kDatasource = {{"type", "prometheus"}, {"uid", "${DS_PROMETHEUS}"}};
constexpr const char* kSlice = "GPU {{gpu}} {{profile}} {{placement}} {{model}}";
constexpr const char* kGpu = "gpu=~\"$gpu\"";
constexpr const char* kModel = "model=~\"$model\"";

struct Query {
  std::string expr;
  std::string legend;
};

// Lays panels out left to right, 24 columns to a row.
class Layout {
 public:
  Json Place(int w, int h) {
    if (x_ + w > 24) x_ = 0, y_ += row_h_, row_h_ = 0;
    Json pos = {{"h", h}, {"w", w}, {"x", x_}, {"y", y_}};
    x_ += w;
    row_h_ = std::max(row_h_, h);
    return pos;
  }
  Json Row(const std::string& title, int id) {
    if (x_ > 0) x_ = 0, y_ += row_h_, row_h_ = 0;
    Json row = {{"type", "row"},
                {"title", title},
                {"id", id},
                {"collapsed", false},
                {"panels", Json::array()},
                {"gridPos", {{"h", 1}, {"w", 24}, {"x", 0}, {"y", y_}}}};
    y_ += 1;
    return row;
  }

 private:
  int x_ = 0, y_ = 0, row_h_ = 0;
};

Json Panel(Layout& layout, int& id, const std::string& type, const std::string& title,
           const std::string& unit, const std::vector<Query>& queries, int w = 12, int h = 8) {
  Json targets = Json::array();
  char ref = 'A';
  for (const auto& q : queries)
    targets.push_back({{"datasource", kDatasource},
                       {"expr", q.expr},
                       {"legendFormat", q.legend},
                       {"refId", std::string(1, ref++)}});
  Json defaults = {{"unit", unit}};
  if (unit == "percentunit") defaults["min"] = 0, defaults["max"] = 1;
  return {{"type", type},
          {"title", title},
          {"id", ++id},
          {"datasource", kDatasource},
          {"gridPos", layout.Place(w, h)},
          {"fieldConfig", {{"defaults", defaults}, {"overrides", Json::array()}}},
          {"options", {{"legend", {{"displayMode", "list"}, {"placement", "bottom"}}}}},
          {"targets", targets}};
}

std::string Rate(const std::string& series, const std::string& by) {
  return "sum by (" + by + ") (rate(" + series + "[$__rate_interval]))";
}

std::string Quantile(const char* q, const std::string& histogram) {
  return std::string("histogram_quantile(") + q + ", sum by (model, le) (rate(" + histogram +
         "_bucket{" + kModel + "}[$__rate_interval])))";
}

void SlicePanels(Json& panels, Layout& l, int& id) {
  auto slice = [](const char* family) { return std::string(family) + "{" + kGpu + "}"; };
  panels.push_back(l.Row("GPUs and slices", ++id));
  panels.push_back(Panel(l, id, "timeseries", "SM activity per slice", "percentunit",
                         {{slice("carve_slice_sm_active_ratio"), kSlice}}, 8));
  panels.push_back(Panel(l, id, "timeseries", "Memory bandwidth per slice", "percentunit",
                         {{slice("carve_slice_memory_bandwidth_ratio"), kSlice}}, 8));
  panels.push_back(Panel(l, id, "timeseries", "Tensor activity per slice", "percentunit",
                         {{slice("carve_slice_tensor_active_ratio"), kSlice}}, 8));
  panels.push_back(Panel(
      l, id, "bargauge", "Slice memory used", "percentunit",
      {{slice("carve_slice_memory_used_bytes") + " / " + slice("carve_slice_memory_total_bytes"),
        kSlice}}));
  panels.push_back(Panel(l, id, "table", "Slices without utilisation (see carve status)", "none",
                         {{slice("carve_slice_utilisation_available") + " == 0", kSlice}}, 12));
  panels.push_back(Panel(
      l, id, "bargauge", "What still fits (slices free per profile)", "none",
      {{"sum by (profile) (carve_gpu_slices_free{" + std::string(kGpu) + "})", "{{profile}}"}}, 8));
  panels.push_back(Panel(l, id, "stat", "Stranded placement units", "none",
                         {{slice("carve_gpu_stranded_units"), "GPU {{gpu}}"},
                          {slice("carve_gpu_placement_units"), "GPU {{gpu}} units"}},
                         8));
  panels.push_back(Panel(l, id, "table", "Engines not ready", "none",
                         {{"carve_engine_state{state!=\"ready\"} == 1", "{{model}} {{state}}"}},
                         8));
  panels.push_back(Panel(l, id, "timeseries", "Engine restarts (1 h)", "none",
                         {{"increase(carve_engine_restarts_total[1h])", kSlice}}, 24));
}

void TrafficPanels(Json& panels, Layout& l, int& id) {
  const std::string requests = std::string("carve_gateway_requests_total{") + kModel + "}";
  panels.push_back(l.Row("Traffic per model", ++id));
  panels.push_back(Panel(l, id, "timeseries", "Requests per second", "reqps",
                         {{Rate(requests, "model"), "{{model}}"}}));
  panels.push_back(Panel(l, id, "timeseries", "Requests per second by API key", "reqps",
                         {{Rate(requests, "key"), "{{key}}"}}));
  panels.push_back(
      Panel(l, id, "timeseries", "Latency p50 / p99", "s",
            {{Quantile("0.5", "carve_gateway_request_duration_seconds"), "{{model}} p50"},
             {Quantile("0.99", "carve_gateway_request_duration_seconds"), "{{model}} p99"}}));
  panels.push_back(
      Panel(l, id, "timeseries", "Time to first token p50 / p99", "s",
            {{Quantile("0.5", "carve_gateway_time_to_first_token_seconds"), "{{model}} p50"},
             {Quantile("0.99", "carve_gateway_time_to_first_token_seconds"), "{{model}} p99"}}));
  panels.push_back(
      Panel(l, id, "timeseries", "Tokens generated per second", "none",
            {{Rate("carve_gateway_generated_tokens_total{" + std::string(kModel) + "}", "model"),
              "{{model}}"}}));
  panels.push_back(
      Panel(l, id, "timeseries", "In flight and queued", "none",
            {{"sum by (model) (carve_gateway_in_flight_requests{" + std::string(kModel) + "})",
              "{{model}} in flight"},
             {"sum by (model) (carve_gateway_queue_depth{" + std::string(kModel) + "})",
              "{{model}} queued"}}));
}

void ErrorPanels(Json& panels, Layout& l, int& id) {
  panels.push_back(l.Row("Errors", ++id));
  panels.push_back(
      Panel(l, id, "timeseries", "Gateway error answers by code", "reqps",
            {{Rate("carve_gateway_errors_total{" + std::string(kModel) + "}", "model, code"),
              "{{model}} {{code}}"}},
            8));
  panels.push_back(
      Panel(l, id, "timeseries", "Engine 5xx answers", "reqps",
            {{Rate("carve_gateway_requests_total{" + std::string(kModel) + ",status=~\"5..\"}",
                   "model, status"),
              "{{model}} {{status}}"}},
            8));
  panels.push_back(Panel(l, id, "timeseries", "Replicas out of rotation", "none",
                         {{"count by (model) (carve_gateway_upstream_healthy == 0)", "{{model}}"},
                          {Rate("carve_gateway_upstream_connect_failures_total", "model"),
                           "{{model}} connect failures/s"}},
                         8));
}

Json Variable(const std::string& name, const std::string& query) {
  return {{"name", name},
          {"label", name},
          {"type", "query"},
          {"datasource", kDatasource},
          {"query", {{"query", query}, {"refId", name}}},
          {"definition", query},
          {"refresh", 2},
          {"includeAll", true},
          {"multi", true},
          {"allValue", ".*"},
          {"current", {{"text", "All"}, {"value", "$__all"}}},
          {"sort", 1}};
}

}  // namespace

std::string GrafanaDashboard() {
  Json panels = Json::array();
  Layout layout;
  int id = 0;
  SlicePanels(panels, layout, id);
  TrafficPanels(panels, layout, id);
  ErrorPanels(panels, layout, id);
  Json dashboard = {
      {"__inputs", Json::array({{{"name", "DS_PROMETHEUS"},
                                 {"label", "Prometheus"},
                                 {"description", "The Prometheus that scrapes carve's /metrics"},
                                 {"type", "datasource"},
                                 {"pluginId", "prometheus"},
                                 {"pluginName", "Prometheus"}}})},
      {"__requires", Json::array({{{"type", "datasource"},
                                   {"id", "prometheus"},
                                   {"name", "Prometheus"},
                                   {"version", "1.0.0"}}})},
      {"uid", "carve-slices"},
      {"title", "carve: GPUs, slices and models"},
      {"description", "Slices joined to their models and keys (carve render grafana)"},
      {"tags", Json::array({"carve", "mig", "gpu"})},
      {"timezone", "browser"},
      {"schemaVersion", 39},
      {"version", 1},
      {"editable", true},
      {"refresh", "10s"},
      {"time", {{"from", "now-1h"}, {"to", "now"}}},
      {"templating",
       {{"list",
         Json::array({Variable("gpu", "label_values(carve_slice_memory_total_bytes, gpu)"),
                      Variable("model", "label_values(carve_gateway_requests_total, model)")})}}},
      {"annotations", {{"list", Json::array()}}},
      {"panels", panels}};
  return dashboard.dump(2) + "\n";
}

}  // namespace carve::render
