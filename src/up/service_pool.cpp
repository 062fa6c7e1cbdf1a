// On-demand models in pools (docs/pools.md): the service's side. A request
// for a cold model is held by the gateway, which tells the demand box; the
// loop then starts the model's engine on a pool slice with room (pool.h's
// PlanLoad), first draining and stopping the least recently used idle
// residents when none has room. The gateway puts the engine in rotation once
// it is ready, and the held requests go to it.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "plan/spec_plan.h"
#include "up/service_impl.h"
#include "up/state_dir.h"

namespace carve::up {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The q-quantile of `xs` (nearest rank).
double Quantile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1, static_cast<size_t>(q * static_cast<double>(xs.size())))];
}

std::string GiB(uint64_t mib) { return fmt::format("{:.1f} GiB", double(mib) / 1024.0); }

}  // namespace

Status Service::Impl::SetPools(const spec::Spec& next, const plan::Plan& p) {
  std::map<std::string, OnDemandModel> models;
  CARVE_ASSIGN_OR_RETURN(auto demands, plan::DemandsOf(next));
  for (const auto& m : next.models) {
    if (!m.on_demand) continue;
    OnDemandModel od;
    od.pool = m.pool.empty() ? "default" : m.pool;
    od.keep_warm_s = m.keep_warm_s;
    for (const auto& d : demands)
      if (d.name == m.name) od.need_mib = d.memory_mib;
    models[m.name] = od;
  }
  std::map<std::string, std::vector<Slot>> slots = PoolSlotsFromPlan(p);
  // Residents whose model, settings or pool slice the new spec no longer has go.
  std::vector<std::string> gone;
  for (const auto& [id, r] : replicas) {
    if (r.pool.empty()) continue;
    auto m = models.find(r.want.model);
    const std::string where = r.want.slot.where();
    const auto& now = slots[r.pool];
    auto slice =
        std::find_if(now.begin(), now.end(), [&](const Slot& s) { return s.where() == where; });
    bool same = m != models.end() && m->second.pool == r.pool && slice != now.end();
    if (same) {  // the same launch on the same slice (its memory fraction included)
      const spec::Model* sm = nullptr;
      for (const auto& x : next.models)
        if (x.name == r.want.model) sm = &x;
      auto w = OnDemandReplica(*sm, *slice, m->second.need_mib, o.ready_timeout_ms);
      same = w.ok() && w->settings == r.want.settings;
    }
    if (!same) gone.push_back(id);
  }
  for (const auto& id : gone) {
    Note(fmt::format("{} leaves its pool (its model, settings or pool slice changed)", id));
    StopReplica(id);
  }
  // Slot indexes of the residents that stay, in the new slice lists.
  for (auto& [id, r] : replicas) {
    if (r.pool.empty()) continue;
    const auto& now = slots[r.pool];
    for (size_t k = 0; k < now.size(); ++k)
      if (now[k].where() == r.want.slot.where()) r.pool_slot = static_cast<int>(k);
  }
  on_demand = std::move(models);
  pools = std::move(slots);
  TellStates();  // before any request can find them: cold, not "loading"
  return Status::Ok();
}

void Service::Impl::TellStates() {
  std::map<std::string, std::string> states;
  for (const auto& [m, od] : on_demand) states[m] = ModelState(m);
  if (gw && states != model_states) gw->SetModelStates(states);
  model_states = std::move(states);
}

PoolView Service::Impl::PoolViewOf(const std::string& pool) const {
  PoolView v;
  v.name = pool;
  if (auto it = pools.find(pool); it != pools.end()) v.slots = it->second;
  for (const auto& [id, r] : replicas) {
    if (r.pool != pool) continue;
    Resident x;
    x.id = id;
    x.model = r.want.model;
    x.slot = r.pool_slot;
    x.memory_mib = r.want.slot.memory_mib;
    x.loading = !r.served;
    auto f = in_flight.find(r.want.model);
    x.in_flight = f == in_flight.end() ? 0 : f->second;
    auto u = last_used.find(r.want.model);
    x.last_used = u == last_used.end() ? r.started_at : std::max(u->second, r.started_at);
    auto m = on_demand.find(r.want.model);
    x.keep_warm_s = m == on_demand.end() ? 0 : m->second.keep_warm_s;
    v.residents.push_back(x);
  }
  return v;
}

std::string Service::Impl::ModelState(const std::string& model) const {
  std::string state = "cold";
  for (const auto& [id, r] : replicas)
    if (r.want.model == model) state = r.served ? "resident" : "loading";
  return state;
}

void Service::Impl::LoadOrWait(const std::string& model, Clock::time_point now) {
  const OnDemandModel& od = on_demand.at(model);
  LoadPlan lp = PlanLoad(PoolViewOf(od.pool), od.need_mib, now);
  if (lp.slot < 0) {
    if (waiting_why[model] != lp.wait) Note(fmt::format("{} waits to load: {}", model, lp.wait));
    waiting_why[model] = lp.wait;
    return;
  }
  for (const auto& id : lp.evict) {
    const std::string& victim = replicas.at(id).want.model;
    auto u = last_used.find(victim);
    Note(fmt::format("evicting {} (idle {:.0f} s, the least recently used) for {}", id,
                     u == last_used.end() ? 0.0 : Seconds(now - u->second), model));
    ++loads[victim].evictions;
    StopReplica(id);
  }
  const spec::Model* m = nullptr;
  for (const auto& x : spec.models)
    if (x.name == model) m = &x;
  const Slot& slice = pools.at(od.pool).at(static_cast<size_t>(lp.slot));
  Status st = [&]() -> Status {
    CARVE_ASSIGN_OR_RETURN(WantedReplica w,
                           OnDemandReplica(*m, slice, od.need_mib, o.ready_timeout_ms));
    CARVE_ASSIGN_OR_RETURN(auto gpus, machine->Gpus());
    std::string id;
    CARVE_RETURN_IF_ERROR(StartReplica(std::move(w), gpus, id));
    replicas.at(id).pool = od.pool;
    replicas.at(id).pool_slot = lp.slot;
    Note(fmt::format("loading {} on pool {} slice {} ({} of {})", id, od.pool, slice.where(),
                     GiB(od.need_mib), GiB(slice.memory_mib)));
    return Status::Ok();
  }();
  pending.erase(model);
  waiting_why.erase(model);
  if (!st.ok()) {
    ++loads[model].failures;
    Note(fmt::format("{} could not be loaded: {}", model, st.ToString()));
    if (gw) gw->FailWaiting(model, fmt::format("{} could not be loaded: {}", model, st.message()));
  }
}

void Service::Impl::NoteLoaded(const std::string& id, Replica& r, Clock::duration took) {
  if (r.pool.empty() || r.load_counted) return;
  auto& stats = loads[r.want.model];
  ++stats.cold_starts;
  stats.load_s.push_back(Seconds(took));
  if (stats.load_s.size() > 1000) stats.load_s.erase(stats.load_s.begin());
  Note(fmt::format("{} is loaded ({:.2f} s)", id, Seconds(took)));
  r.load_counted = true;
}

// Loading engines that failed: their held requests are answered with why.
void Service::Impl::CheckLoads() {
  std::vector<std::pair<std::string, std::string>> failed;  // id, why
  for (auto& [id, r] : replicas) {
    if (r.pool.empty()) continue;
    auto st = sup->Get(id);
    if (!st.ok()) continue;
    if (r.served) continue;  // loaded (NoteLoaded counted it)
    bool broken = st->state == serve::State::kRestarting ||
                  st->state == serve::State::kCrashLooping || st->ready_timed_out;
    if (!r.served && broken)
      failed.emplace_back(id, st->last_error.empty() ? st->last_exit : st->last_error);
  }
  for (const auto& [id, why] : failed) {
    std::string model = replicas.at(id).want.model;
    ++loads[model].failures;
    Note(fmt::format("{} failed to load: {}", id, why));
    StopReplica(id);
    if (gw)
      gw->FailWaiting(model, fmt::format("{} could not be loaded: its engine {}; see carve status "
                                         "and its log",
                                         model, why.empty() ? "did not become ready" : why));
  }
}

void Service::Impl::ServePools() {
  if (on_demand.empty()) return;
  const auto now = Clock::now();
  TakePoolRequests();
  std::set<std::string> asked;
  {
    std::lock_guard<std::mutex> lock(demand->mu);
    asked.swap(demand->models);
  }
  for (const auto& m : asked)
    if (on_demand.count(m) && ModelState(m) == "cold") pending[m] = now;
  // Who is in use: the gateway's counters (requests in flight, the last one sent).
  in_flight.clear();
  if (gw) queued = gw->QueueDepths();
  if (gw)
    for (const auto& c : gw->Counters()) {
      in_flight[c.model] += c.in_flight;
      if (c.last_request != Clock::time_point{} &&
          (!last_used.count(c.model) || last_used[c.model] < c.last_request))
        last_used[c.model] = c.last_request;
    }
  CheckLoads();
  // Loads asked for, oldest first; forgotten once their requests gave up (hold_ms).
  std::vector<std::pair<Clock::time_point, std::string>> order;
  for (const auto& [m, at] : pending) order.emplace_back(at, m);
  std::sort(order.begin(), order.end());
  const auto hold = std::chrono::milliseconds(std::max(gwcfg.timeouts.hold_ms, 1000));
  for (const auto& [at, m] : order) {
    if (ModelState(m) != "cold") {
      pending.erase(m);
      continue;
    }
    if (at != Clock::time_point::max() && now - at > hold) {
      pending.erase(m);
      waiting_why.erase(m);
      continue;
    }
    LoadOrWait(m, now);
  }
  TellStates();
}

// carve pool load MODEL / unload MODEL: STATE_DIR/pool.request.* files.
void Service::Impl::TakePoolRequests() {
  for (const auto& req : TakePoolRequestFiles(o.state_dir)) {
    if (!on_demand.count(req.model)) {
      Note(fmt::format("carve pool {} {}: not an on-demand model of this spec (ignored)",
                       req.action, req.model));
      continue;
    }
    if (req.action == "load") {
      Note(fmt::format("carve pool load {}", req.model));
      if (ModelState(req.model) == "cold")
        pending[req.model] = Clock::time_point::max();  // kept until it loads
      continue;
    }
    pending.erase(req.model);
    std::vector<std::string> ids;
    for (const auto& [id, r] : replicas)
      if (r.want.model == req.model && !r.pool.empty()) ids.push_back(id);
    Note(fmt::format("carve pool unload {}: {}", req.model,
                     ids.empty() ? "not resident" : "draining and stopping its engine"));
    for (const auto& id : ids) StopReplica(id);
  }
}

Json Service::Impl::PoolsJson() const {
  Json out = Json::array();
  for (const auto& [name, slots] : pools) {
    PoolView v = PoolViewOf(name);
    Json slices = Json::array();
    uint64_t total = 0, used = 0;
    for (size_t k = 0; k < slots.size(); ++k) {
      Json res = Json::array();
      for (const auto& r : v.residents)
        if (r.slot == static_cast<int>(k))
          res.push_back({{"model", r.model},
                         {"replica", r.id},
                         {"memory_mib", r.memory_mib},
                         {"memory_fraction", replicas.at(r.id).want.spec.memory_fraction},
                         {"state", r.loading ? "loading" : "resident"},
                         {"in_flight", r.in_flight}});
      total += slots[k].memory_mib;
      used += slots[k].memory_mib - FreeMiB(v, static_cast<int>(k));
      slices.push_back(
          {{"slice", slots[k].where()}, {"memory_mib", slots[k].memory_mib}, {"residents", res}});
    }
    Json models = Json::array();
    for (const auto& [m, od] : on_demand) {
      if (od.pool != name) continue;
      auto st = loads.find(m);
      LoadStats none;
      const LoadStats& s = st == loads.end() ? none : st->second;
      Json cold = nullptr;
      if (!s.load_s.empty()) {
        cold = {{"p50", Quantile(s.load_s, 0.5)}, {"p99", Quantile(s.load_s, 0.99)}};
      }
      models.push_back({{"model", m},
                        {"state", ModelState(m)},
                        {"memory_mib", od.need_mib},
                        {"keep_warm_s", od.keep_warm_s},
                        {"queued", queued.count(m) ? queued.at(m) : 0},
                        {"load_pending", pending.count(m) > 0},
                        {"cold_starts", s.cold_starts},
                        {"evictions", s.evictions},
                        {"load_failures", s.failures},
                        {"cold_start_s", cold}});
    }
    out.push_back({{"name", name},
                   {"slices", slices},
                   {"memory_mib", total},
                   {"memory_used_mib", used},
                   {"models", models}});
  }
  return out;
}

// Per model: cold starts, load time, evictions; per pool: resident memory and slot use.
std::string Service::Impl::PoolMetrics() const {
  if (pools.empty()) return "";
  std::string out;
  out +=
      "# HELP carve_model_cold_starts_total On-demand loads of the model that became ready.\n"
      "# TYPE carve_model_cold_starts_total counter\n";
  for (const auto& [m, od] : on_demand) {
    auto s = loads.find(m);
    out += fmt::format("carve_model_cold_starts_total{{model=\"{}\",pool=\"{}\"}} {}\n", m, od.pool,
                       s == loads.end() ? 0 : s->second.cold_starts);
  }
  out +=
      "# HELP carve_model_evictions_total Times the model was evicted to make room in its pool.\n"
      "# TYPE carve_model_evictions_total counter\n";
  for (const auto& [m, od] : on_demand) {
    auto s = loads.find(m);
    out += fmt::format("carve_model_evictions_total{{model=\"{}\",pool=\"{}\"}} {}\n", m, od.pool,
                       s == loads.end() ? 0 : s->second.evictions);
  }
  out +=
      "# HELP carve_model_load_seconds Time from an on-demand engine's start to ready.\n"
      "# TYPE carve_model_load_seconds histogram\n";
  static const double kBounds[] = {0.5, 1, 2, 5, 10, 30, 60, 120, 300};
  for (const auto& [m, od] : on_demand) {
    auto s = loads.find(m);
    std::vector<double> none;
    const auto& xs = s == loads.end() ? none : s->second.load_s;
    double sum = 0;
    for (double x : xs) sum += x;
    for (double b : kBounds)
      out += fmt::format("carve_model_load_seconds_bucket{{model=\"{}\",le=\"{}\"}} {}\n", m, b,
                         std::count_if(xs.begin(), xs.end(), [&](double x) { return x <= b; }));
    out += fmt::format("carve_model_load_seconds_bucket{{model=\"{}\",le=\"+Inf\"}} {}\n", m,
                       xs.size());
    out += fmt::format("carve_model_load_seconds_sum{{model=\"{}\"}} {}\n", m, sum);
    out += fmt::format("carve_model_load_seconds_count{{model=\"{}\"}} {}\n", m, xs.size());
  }
  out +=
      "# HELP carve_pool_memory_bytes Memory of a pool's slices, and the part resident models "
      "take.\n"
      "# TYPE carve_pool_memory_bytes gauge\n";
  std::string slots_text =
      "# HELP carve_pool_slots A pool's slices, and those holding at least one model.\n"
      "# TYPE carve_pool_slots gauge\n";
  for (const auto& [name, slots] : pools) {
    PoolView v = PoolViewOf(name);
    uint64_t total = 0, used = 0;
    int busy = 0;
    for (size_t k = 0; k < slots.size(); ++k) {
      uint64_t free = FreeMiB(v, static_cast<int>(k));
      total += slots[k].memory_mib;
      used += slots[k].memory_mib - free;
      busy += free < slots[k].memory_mib ? 1 : 0;
    }
    out += fmt::format("carve_pool_memory_bytes{{pool=\"{}\",kind=\"total\"}} {}\n", name,
                       total << 20);
    out += fmt::format("carve_pool_memory_bytes{{pool=\"{}\",kind=\"resident\"}} {}\n", name,
                       used << 20);
    slots_text +=
        fmt::format("carve_pool_slots{{pool=\"{}\",kind=\"total\"}} {}\n", name, slots.size());
    slots_text += fmt::format("carve_pool_slots{{pool=\"{}\",kind=\"used\"}} {}\n", name, busy);
  }
  return out + slots_text;
}

void Service::Pools() { impl_->ServePools(); }

}  // namespace carve::up
