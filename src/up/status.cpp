#include "up/status.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/format_version.h"

namespace carve::up {
namespace {

using Json = nlohmann::ordered_json;

std::string Tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  while (lines-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

// The slice's memory (used, total) as the GPUs were last read.
std::pair<uint64_t, uint64_t> MemoryOf(const Slot& sl, const std::vector<device::Gpu>& gpus) {
  uint64_t used = 0, total = 0;
  for (const auto& g : gpus) {
    if (g.index != sl.gpu) continue;
    if (sl.profile == "whole") used = g.memory_used_mib, total = g.memory_total_mib;
    for (const auto& gi : g.gpu_instances)
      if (gi.id == sl.gi) used = gi.memory_used_mib, total = gi.memory_total_mib;
  }
  return {used, total};
}

Json ReplicaJson(const ReplicaView& r, const std::vector<device::Gpu>& gpus) {
  const serve::ReplicaStatus& s = r.engine;
  auto [used, total] = MemoryOf(r.slot, gpus);
  return {{"id", s.id},
          {"model", s.model},
          {"gpu", r.slot.gpu},
          {"profile", r.slot.profile},
          {"start", r.slot.start},
          {"uuid", s.uuid},
          {"memory_used_mib", used},
          {"memory_total_mib", total},
          {"engine", serve::EngineName(s.engine)},
          {"launcher", serve::LauncherName(r.launcher)},
          {"pid", s.pid},
          {"port", s.port},
          {"state", serve::StateName(s.state)},
          {"restarts", s.restarts},
          {"requests", r.requests},
          {"requests_per_s", r.requests_per_s},
          {"errors", r.errors},
          {"last_exit", s.last_exit},
          {"last_error", s.last_error},
          {"log", s.log_path}};
}

Json QuantilesJson(const std::optional<Quantiles>& q) {
  if (!q) return nullptr;
  return {{"p50", q->p50}, {"p99", q->p99}};
}

// Per model of the spec: its replicas (and how many are ready) and traffic.
Json ModelsJson(const ServiceView& view) {
  Json out = Json::array();
  for (const auto& name : view.models) {
    int replicas = 0, ready = 0;
    for (const auto& r : view.replicas)
      if (r.engine.model == name) ++replicas, ready += r.engine.state == serve::State::kReady;
    auto it = view.traffic.find(name);
    const ModelTraffic t = it == view.traffic.end() ? ModelTraffic{} : it->second;
    out.push_back({{"model", name},
                   {"replicas", replicas},
                   {"ready", ready},
                   {"requests", t.requests},
                   {"errors", t.errors},
                   {"requests_per_s", t.requests_per_s},
                   {"tokens_per_s", t.tokens_per_s},
                   {"errors_per_s", t.errors_per_s},
                   {"latency_ms", QuantilesJson(t.latency_ms)},
                   {"ttft_ms", QuantilesJson(t.ttft_ms)},
                   {"in_flight", t.in_flight},
                   {"queued", t.queued}});
  }
  return out;
}

Json QuarantinedJson(const std::vector<Quarantine>& qs) {
  Json out = Json::array();
  for (const auto& q : qs)
    out.push_back({{"slice", q.slice.str()}, {"why", q.why}, {"since", q.since}});
  return out;
}

Json SparesJson(const std::vector<device::SliceRef>& spares) {
  Json out = Json::array();
  for (const auto& s : spares) out.push_back(s.str());
  return out;
}

}  // namespace

Json StatusJson(const ServiceView& view) {
  std::vector<const ReplicaView*> sorted;
  for (const auto& r : view.replicas) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(),
            [](auto* a, auto* b) { return a->engine.id < b->engine.id; });
  Json reps = Json::array();
  for (const auto* r : sorted) reps.push_back(ReplicaJson(*r, view.gpus));
  return Json{{"version", kFormatVersion},
              {"pid", view.pid},
              {"spec", view.spec},
              {"state_dir", view.state_dir},
              {"gateway", {{"listen", view.listen}, {"url", "http://" + view.listen}}},
              {"replicas", reps},
              {"reload_error", view.reload_error},
              {"models", ModelsJson(view)},
              {"traffic_window_s", view.traffic_window_s},
              {"quarantined", QuarantinedJson(view.quarantined)},
              {"spares", SparesJson(view.spares)}};
}

namespace {

std::string GiBText(uint64_t mib) { return fmt::format("{:.1f}", double(mib) / 1024.0); }

// Each pool (docs/pools.md): its slices and residents, then every model's
// state, loads, evictions and cold-start time.
std::string PoolsText(const Json& st) {
  std::string out;
  for (const auto& p : st.value("pools", Json::array())) {
    const Json slices = p.value("slices", Json::array());
    out += fmt::format("\npool {}: {} slice(s), {}/{} GiB resident\n", p.value("name", ""),
                       slices.size(), GiBText(p.value("memory_used_mib", uint64_t{0})),
                       GiBText(p.value("memory_mib", uint64_t{0})));
    for (const auto& s : slices) {
      std::string who;
      for (const auto& r : s.value("residents", Json::array()))
        who += fmt::format("{}{} ({} GiB{})", who.empty() ? "" : ", ", r.value("model", ""),
                           GiBText(r.value("memory_mib", uint64_t{0})),
                           r.value("state", "") == "loading" ? ", loading" : "");
      out += fmt::format("  {:<16} {}\n", s.value("slice", ""), who.empty() ? "(empty)" : who);
    }
    out += fmt::format("  {:<14} {:<9} {:>8} {:>6} {:>6} {:>9} {:>14}\n", "MODEL", "STATE",
                       "MEM GiB", "QUEUE", "LOADS", "EVICTED", "COLD START s");
    for (const auto& m : p.value("models", Json::array())) {
      const Json& c = m["cold_start_s"];
      out += fmt::format(
          "  {:<14} {:<9} {:>8} {:>6} {:>6} {:>9} {:>14}\n", m.value("model", ""),
          m.value("state", ""), GiBText(m.value("memory_mib", uint64_t{0})), m.value("queued", 0),
          m.value("cold_starts", 0), m.value("evictions", 0),
          c.is_object() ? fmt::format("{:.2f}/{:.2f}", c.value("p50", 0.0), c.value("p99", 0.0))
                        : "-");
    }
  }
  return out;
}

}  // namespace

std::string StatusText(const Json& st) {
  std::string out = fmt::format("carve up (pid {}) serving {} on {}\n", st.value("pid", 0),
                                st.value("spec", ""), st["gateway"].value("url", ""));
  out +=
      fmt::format("{:<14} {:>3} {:<12} {:<42} {:>15} {:<8} {:>7} {:<13} {:>5} {:>8} {:>6} {:>6}\n",
                  "MODEL", "GPU", "SLICE", "MIG UUID", "MEMORY (MiB)", "ENGINE", "PID", "STATE",
                  "PORT", "RESTARTS", "REQ/S", "ERRORS");
  for (const auto& r : st["replicas"]) {
    out += fmt::format(
        "{:<14} {:>3} {:<12} {:<42} {:>15} {:<8} {:>7} {:<13} {:>5} {:>8} {:>6.1f} {:>6}\n",
        r.value("model", ""), r.value("gpu", 0),
        fmt::format("{}@{}", r.value("profile", ""), r.value("start", 0)), r.value("uuid", ""),
        fmt::format("{}/{}", r.value("memory_used_mib", 0), r.value("memory_total_mib", 0)),
        r.value("engine", ""), r.value("pid", 0), r.value("state", ""), r.value("port", 0),
        r.value("restarts", 0), r.value("requests_per_s", 0.0), r.value("errors", 0));
  }
  for (const auto& r : st["replicas"])
    if (r.value("state", "") != "ready" && !r.value("last_error", "").empty())
      out += fmt::format("\n{} ({}): {}\n", r.value("id", ""), r.value("state", ""),
                         Tail(r.value("last_error", ""), 6));
  for (const auto& q : st.value("quarantined", Json::array()))
    out += fmt::format("\nquarantined {} since {}: {}\n", q.value("slice", ""),
                       q.value("since", ""), q.value("why", ""));
  if (auto spares = st.value("spares", Json::array()); !spares.empty()) {
    std::string list;
    for (const auto& s : spares) list += (list.empty() ? "" : ", ") + s.get<std::string>();
    out += fmt::format("\nspare slices (kept empty for failover): {}\n", list);
  }
  out += PoolsText(st);
  if (!st.value("reload_error", "").empty())
    out += "\nlast reload failed: " + st.value("reload_error", "") + "\n";
  return out;
}

}  // namespace carve::up
