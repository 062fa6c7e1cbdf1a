#include "up/history.h"

#include <fmt/format.h>

#include <algorithm>

#include "up/state_dir.h"
#include "util/atomic_file.h"
#include "util/format_version.h"
#include "util/read_file.h"

namespace carve::up {
namespace {

uint64_t Increase(uint64_t now, uint64_t then) { return now >= then ? now - then : now; }

void AddIncrease(std::vector<uint64_t>& sum, const std::vector<uint64_t>& now,
                 const std::vector<uint64_t>& then) {
  if (sum.size() < now.size()) sum.resize(now.size());
  for (size_t i = 0; i < now.size(); ++i) sum[i] += Increase(now[i], i < then.size() ? then[i] : 0);
}

std::vector<uint64_t> Minus(const std::vector<uint64_t>& now, const std::vector<uint64_t>& then) {
  std::vector<uint64_t> out(now.size());
  for (size_t i = 0; i < now.size(); ++i)
    out[i] = now[i] - std::min(now[i], i < then.size() ? then[i] : 0);
  return out;
}

WindowTraffic Between(const ModelTotals& now, const ModelTotals& then, double dt) {
  WindowTraffic w;
  w.seconds = dt;
  if (dt <= 0) return w;
  w.requests_per_s = static_cast<double>(Increase(now.requests, then.requests)) / dt;
  w.tokens_per_s = static_cast<double>(Increase(now.tokens, then.tokens)) / dt;
  w.errors_per_s = static_cast<double>(Increase(now.errors, then.errors)) / dt;
  w.latency_ms = QuantilesOf(Minus(now.duration, then.duration));
  w.ttft_ms = QuantilesOf(Minus(now.first_byte, then.first_byte));
  w.in_flight = std::max(0.0, now.in_flight_s - then.in_flight_s) / dt;
  w.queued = std::max(0.0, now.queued_s - then.queued_s) / dt;
  w.replicas = std::max(0.0, now.replica_s - then.replica_s) / dt;
  return w;
}

nlohmann::json TotalsJson(const ModelTotals& m) {
  return {{"requests", m.requests}, {"errors", m.errors},         {"tokens", m.tokens},
          {"duration", m.duration}, {"first_byte", m.first_byte}, {"in_flight_s", m.in_flight_s},
          {"queued_s", m.queued_s}, {"replica_s", m.replica_s}};
}

ModelTotals TotalsFrom(const nlohmann::json& j) {
  ModelTotals m;
  m.requests = j.value("requests", uint64_t{0});
  m.errors = j.value("errors", uint64_t{0});
  m.tokens = j.value("tokens", uint64_t{0});
  m.duration = j.value("duration", std::vector<uint64_t>{});
  m.first_byte = j.value("first_byte", std::vector<uint64_t>{});
  m.in_flight_s = j.value("in_flight_s", 0.0);
  m.queued_s = j.value("queued_s", 0.0);
  m.replica_s = j.value("replica_s", 0.0);
  return m;
}

}  // namespace

bool TrafficHistory::Add(Clock::time_point now,
                         const std::vector<gateway::ReplicaCounters>& counters) {
  if (!first_) first_ = now;
  const double dt = last_ ? std::chrono::duration<double>(now - *last_).count() : 0;
  last_ = now;
  now_.t = std::chrono::duration<double>(now - *first_).count();
  std::map<std::string, int> queued;  // the model's, on each of its replicas' counters
  std::map<std::string, gateway::ReplicaCounters> by_url;
  for (const auto& c : counters) {
    static const gateway::ReplicaCounters kNew{};
    auto then = last_by_url_.find(c.url);
    const gateway::ReplicaCounters& p = then == last_by_url_.end() ? kNew : then->second;
    ModelTotals& m = now_.models[c.model];
    m.requests += Increase(c.requests, p.requests);
    m.errors += Increase(c.errors, p.errors);
    m.tokens += Increase(c.tokens, p.tokens);
    AddIncrease(m.duration, c.duration, p.duration);
    AddIncrease(m.first_byte, c.first_byte, p.first_byte);
    m.in_flight_s += c.in_flight * dt;
    if (!c.draining) m.replica_s += dt;
    queued[c.model] = std::max(queued[c.model], c.queued);
    by_url[c.url] = c;
  }
  for (const auto& [model, q] : queued) now_.models[model].queued_s += q * dt;
  last_by_url_ = std::move(by_url);
  if (!snapshots_.empty() && now_.t - snapshots_.back().t < kEvery.count()) return false;
  snapshots_.push_back(now_);
  // Keep the newest snapshot at least kKeep old, as the longest window's start.
  const double keep = static_cast<double>(kKeep.count());
  while (snapshots_.size() > 2 && snapshots_[1].t <= now_.t - keep) snapshots_.pop_front();
  return true;
}

std::map<std::string, WindowTraffic> TrafficHistory::Over(std::chrono::seconds window) const {
  std::map<std::string, WindowTraffic> out;
  if (snapshots_.empty()) return out;
  // The newest snapshot at least `window` before now_, else the oldest.
  const Snapshot* from = &snapshots_.front();
  for (const auto& s : snapshots_)
    if (s.t <= now_.t - static_cast<double>(window.count())) from = &s;
  const double dt = now_.t - from->t;
  static const ModelTotals kNone{};
  for (const auto& [model, totals] : now_.models) {
    auto then = from->models.find(model);
    out[model] = Between(totals, then == from->models.end() ? kNone : then->second, dt);
  }
  return out;
}

nlohmann::json TrafficHistory::ToJson() const {
  nlohmann::json snaps = nlohmann::json::array();
  auto add = [&snaps](const Snapshot& s) {
    nlohmann::json models = nlohmann::json::object();
    for (const auto& [name, m] : s.models) models[name] = TotalsJson(m);
    snaps.push_back({{"t", s.t}, {"models", models}});
  };
  for (const auto& s : snapshots_) add(s);
  if (!snapshots_.empty() && now_.t > snapshots_.back().t) add(now_);
  return {{"version", kFormatVersion}, {"every_s", kEvery.count()}, {"snapshots", snaps}};
}

Result<TrafficHistory> TrafficHistory::FromJson(const nlohmann::json& j) {
  if (!j.is_object() || j.value("version", "") != kFormatVersion || !j.contains("snapshots") ||
      !j["snapshots"].is_array())
    return Status::InvalidArgument("traffic history: not a version v1 traffic.json");
  TrafficHistory h;
  try {
    for (const auto& s : j["snapshots"]) {
      Snapshot snap;
      snap.t = s.value("t", 0.0);
      const nlohmann::json models = s.value("models", nlohmann::json::object());
      for (const auto& [name, m] : models.items()) snap.models[name] = TotalsFrom(m);
      h.snapshots_.push_back(std::move(snap));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(fmt::format("traffic history: {}", e.what()));
  }
  if (!h.snapshots_.empty()) h.now_ = h.snapshots_.back();
  return h;
}

Result<TrafficHistory> ReadTrafficHistory(const std::string& state_dir) {
  const std::string path = StatePath(state_dir, kTrafficFile);
  CARVE_ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, 64u << 20, "traffic history"));
  auto j = nlohmann::json::parse(text, nullptr, false);
  auto h = TrafficHistory::FromJson(j);
  if (!h.ok()) return h.status().Prefixed(path);
  return h;
}

Status WriteTrafficHistory(const std::string& state_dir, const TrafficHistory& h) {
  return WriteFileAtomically(StatePath(state_dir, kTrafficFile), h.ToJson().dump() + "\n",
                             /*durable=*/false);
}

}  // namespace carve::up
