// carve top's models pane: status.json's per-model traffic ("models"), or,
// from a carve up that writes none, what its replicas say.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "render/table.h"
#include "render/top_panes.h"

namespace carve::render::top {
namespace {

using Value = std::optional<double>;

struct ModelRow {
  std::string name;
  Value replicas, ready, rps, tps, p50, p99, ttft50, ttft99, queued, in_flight, errors;
  std::string slices;  // where its replicas run: "GPU1 1g.10gb@4, …"
};

std::vector<ModelRow> FromModels(const Json& models) {
  std::vector<ModelRow> out;
  for (const auto& m : models) {
    const Json& lat = Field(m, "latency_ms");
    const Json& ttft = Field(m, "ttft_ms");
    out.push_back({Str(m, "model"), Num(m, "replicas"), Num(m, "ready"), Num(m, "requests_per_s"),
                   Num(m, "tokens_per_s"), Num(lat, "p50"), Num(lat, "p99"), Num(ttft, "p50"),
                   Num(ttft, "p99"), Num(m, "queued"), Num(m, "in_flight"), Num(m, "errors"), ""});
  }
  return out;
}

Value Plus(Value a, Value b) { return b ? a.value_or(0) + *b : a; }

// An older carve up's status: replicas, summed per model; no latency.
std::vector<ModelRow> FromReplicas(const Json& replicas) {
  std::map<std::string, ModelRow> by;
  for (const auto& r : replicas) {
    ModelRow& m = by[Str(r, "model")];
    m.name = Str(r, "model");
    m.replicas = m.replicas.value_or(0) + 1;
    m.ready = m.ready.value_or(0) + (Str(r, "state") == "ready" ? 1 : 0);
    m.rps = Plus(m.rps, Num(r, "requests_per_s"));
    m.errors = Plus(m.errors, Num(r, "errors"));
  }
  std::vector<ModelRow> out;
  for (auto& [name, row] : by) out.push_back(std::move(row));
  return out;
}

void AddSlices(const Json& status, std::vector<ModelRow>& rows) {
  for (auto& row : rows)
    for (const auto& s : Items(status, "slices"))
      for (const auto& m : Items(s, "models"))
        if (m == row.name)
          row.slices += fmt::format("{}GPU{} {}@{}", row.slices.empty() ? "" : ", ", Str(s, "gpu"),
                                    Str(s, "profile"), Str(s, "start"));
}

// Busiest (slowest, most failing) first; a model without the number last.
void SortRows(std::vector<ModelRow>& rows, TopView::Sort sort) {
  Value ModelRow::*key = nullptr;
  if (sort == TopView::Sort::kRequests) key = &ModelRow::rps;
  if (sort == TopView::Sort::kP99) key = &ModelRow::p99;
  if (sort == TopView::Sort::kErrors) key = &ModelRow::errors;
  std::stable_sort(rows.begin(), rows.end(), [key](const ModelRow& a, const ModelRow& b) {
    if (key && a.*key != b.*key) return (a.*key).value_or(-1) > (b.*key).value_or(-1);
    return a.name < b.name;
  });
}

std::string Fixed(Value v, int decimals) { return v ? fmt::format("{:.{}f}", *v, decimals) : "-"; }

// Milliseconds: one decimal below 10.
std::string Ms(Value v) { return v ? Fixed(v, *v < 10 ? 1 : 0) : "-"; }

std::string Ready(const ModelRow& m, const Style& style) {
  if (!m.ready || !m.replicas) return "-";
  std::string text = fmt::format("{:.0f}/{:.0f}", *m.ready, *m.replicas);
  return *m.ready < *m.replicas ? style.Yellow(text) : text;
}

// The header of the sort column, marked.
std::string Head(const char* name, TopView::Sort column, TopView::Sort sort) {
  return std::string(name) + (column == sort ? "▼" : "") + ">";
}

}  // namespace

std::vector<std::string> ModelsPane(const Json& status, const TopView& view, const Style& style) {
  if (!Num(status, "pid")) return {"No carve up: no models. carve up SPEC --detach serves some."};
  bool traffic = Field(status, "models").is_array();
  auto rows =
      traffic ? FromModels(Field(status, "models")) : FromReplicas(Items(status, "replicas"));
  AddSlices(status, rows);
  SortRows(rows, view.sort);
  using S = TopView::Sort;
  std::string model_head = std::string("model") + (view.sort == S::kName ? "▼" : "");
  Table t({model_head, "ready>", Head("req/s", S::kRequests, view.sort), "tok/s>", "p50 ms>",
           Head("p99 ms", S::kP99, view.sort), "ttft p50>", "ttft p99>", "queue>", "in flight>",
           Head("errors", S::kErrors, view.sort), "slices"});
  for (const auto& m : rows) {
    std::string errors = Fixed(m.errors, 0);
    t.Add({m.name, Ready(m, style), Fixed(m.rps, 1), Fixed(m.tps, 1), Ms(m.p50), Ms(m.p99),
           Ms(m.ttft50), Ms(m.ttft99), Fixed(m.queued, 0), Fixed(m.in_flight, 0),
           m.errors.value_or(0) > 0 ? style.Red(errors) : errors, m.slices});
  }
  std::vector<std::string> out = Lines(t.Render());
  out.push_back("");
  if (!traffic)
    out.push_back(style.Dim("per replica counts only: this carve up writes no per-model traffic"));
  else if (auto window = Num(status, "traffic_window_s"))
    out.push_back(style.Dim(fmt::format("rates and latency over the last {:.0f} s", *window)));
  return out;
}

}  // namespace carve::render::top
