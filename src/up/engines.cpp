// The service's replicas: engines started on their slices and stopped, waited
// for, told to the machine, fed to the gateway, counted and shown.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "up/service_impl.h"
#include "up/state_dir.h"
#include "util/activity_file.h"

namespace carve::up {

// An engine's activity file, in its working directory (util/activity_file.h).
constexpr std::string_view kActivityFile = "activity";

namespace {

std::string UrlOf(int port) { return fmt::format("http://127.0.0.1:{}", port); }

bool Settled(const serve::ReplicaStatus& s) {
  return s.state == serve::State::kReady || s.state == serve::State::kCrashLooping ||
         s.ready_timed_out;
}

}  // namespace

std::set<uint32_t> Service::Impl::EnginePids() const {
  std::set<uint32_t> pids;
  for (const auto& s : sup->Snapshot())
    if (s.pid > 0) pids.insert(static_cast<uint32_t>(s.pid));
  for (const auto& [id, r] : replicas)
    if (r.noted_pid > 0) pids.insert(static_cast<uint32_t>(r.noted_pid));
  return pids;
}

std::vector<std::string> Service::Impl::ModelNames() const {
  std::vector<std::string> names;
  for (const auto& m : spec.models) names.push_back(m.name);  // on-demand ones too
  return names;
}

// Starts the engine of `w` on its slice (which must exist in `gpus`).
Status Service::Impl::StartReplica(WantedReplica w, const std::vector<device::Gpu>& gpus,
                                   std::string& id) {
  CARVE_RETURN_IF_ERROR(ResolveSlot(w.slot, gpus));
  id = NewId(w.model);
  w.spec.id = id;
  w.spec.uuid = w.slot.uuid;
  // An echo engine counts its tokens there (in its working directory); the
  // simulator makes its slice that busy.
  if (w.spec.engine == serve::EngineKind::kEcho)
    w.spec.env["CARVE_ACTIVITY_FILE"] = std::string(kActivityFile);
  Note(fmt::format("starting {} ({}) on GPU {} {}@{} {}", id, serve::EngineName(w.spec.engine),
                   w.slot.gpu, w.slot.profile, w.slot.start, w.slot.uuid));
  CARVE_RETURN_IF_ERROR(sup->Start(w.spec).Prefixed(id));
  replicas[id] = Replica{std::move(w)};
  replicas[id].started_at = std::chrono::steady_clock::now();
  return Status::Ok();
}

// Out of rotation, then until what it serves is done (streams too), up to
// the gateway's drain timeout; a stop asked for meanwhile cuts it short.
void Service::Impl::Drain(const std::string& id, const std::string& url) {
  if (!gw || url.empty() || !gw->Drain(url).ok()) return;
  auto busy = [&] {
    for (const auto& c : gw->Counters())
      if (c.url == url) return c.in_flight;
    return 0;
  };
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(gwcfg.timeouts.drain_ms);
  if (int n = busy(); n > 0) Note(fmt::format("draining {}: {} request(s) in flight", id, n));
  while (busy() > 0 && std::chrono::steady_clock::now() < until &&
         !(o.interrupted && o.interrupted()))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polled: counts have no event
}

void Service::Impl::StopReplica(const std::string& id) {
  auto it = replicas.find(id);
  if (it == replicas.end()) return;
  Note(fmt::format("stopping {}", id));
  // Out of the gateway first, so no new request goes to it, and drained.
  std::vector<gateway::Backend> rest;
  std::string url;
  if (auto st = sup->Get(id); st.ok() && st->port > 0) url = UrlOf(st->port);
  Drain(id, url);
  for (const auto& b : backends)
    if (b.url != url) rest.push_back(b);
  if (gw && rest.size() != backends.size() && gw->UpdateBackends(rest, ModelNames()).ok())
    backends = rest;
  (void)sup->Stop(id);
  if (it->second.noted_pid > 0)
    (void)machine->ForgetProcess(static_cast<uint32_t>(it->second.noted_pid));
  replicas.erase(it);
}

// Waits until each replica is ready; a replica that fails (ready timeout,
// crash loop) is an error with its log's tail unless keep_going.
Status Service::Impl::WaitStarted(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    serve::ProbeSpec probe = serve::ProbeFor(replicas.at(id).want.spec);
    auto deadline =
        std::chrono::steady_clock::now() + serve::Millis(probe.ready_timeout_ms + 30'000);
    // The runner enforces the ready timeout itself; this deadline is only a
    // net, with room for a slow start (a loaded or sanitized host). In
    // slices, so that a stop asked for meanwhile is heard within 200 ms,
    // not after an engine's ready timeout (minutes for a large model).
    bool ok = false;
    while (!ok && std::chrono::steady_clock::now() < deadline) {
      if (o.interrupted && o.interrupted())
        return Status::Error(Code::kUnknown,
                             "stopped (SIGTERM or SIGINT) while engines were starting; it never "
                             "served",
                             "The engines it started are stopped; the slices stay as planned.");
      ok = sup->WaitFor(id, Settled, serve::Millis(200));
    }
    auto st = sup->Get(id);
    Tick(true);
    if (ok && st.ok() && st->state == serve::State::kReady) {
      Note(fmt::format("{} is ready on port {} (pid {})", id, st->port, st->pid));
      continue;
    }
    std::string why = st.ok() ? st->last_error : st.status().message();
    std::string state = st.ok() ? serve::StateName(st->state) : "gone";
    if (o.keep_going) {
      Note(fmt::format("{} is not ready ({}): {}", id, state, why));
      continue;
    }
    bool log_named = why.find("Its log:") != std::string::npos;
    return Status::Error(Code::kTimeout,
                         fmt::format("replica {} did not become ready ({}){}", id, state,
                                     why.empty() ? "" : ":\n" + why),
                         st.ok() && !log_named ? "Its log: " + st->log_path : "");
  }
  return Status::Ok();
}

// Reads the gateway's counters into the traffic window (rates and quantiles
// per replica and per model: traffic.h), and the machine: slice memory and
// utilisation.
void Service::Impl::CountTraffic() {
  last_count = std::chrono::steady_clock::now();
  if (gw) {
    auto counters = gw->Counters();
    if (history.Add(last_count, counters)) (void)WriteTrafficHistory(o.state_dir, history);
    traffic.Add(last_count, std::move(counters));
  }
  if (auto g = machine->Gpus(); g.ok()) gpus_seen = std::move(*g);
  for (const auto& g : gpus_seen)
    if (auto u = machine->ReadUtilisation(g.index); u.ok()) utilisation_seen[g.index] = *u;
}

// Restarts, crash loops and recoveries go to the progress lines, which a
// detached carve up writes to up.log: the record of what happened, with
// when (the log line's time), which replica, how it exited, what comes next.
void Service::Impl::NoteStateChange(const serve::ReplicaStatus& s, Replica& r) {
  if (s.state == r.noted) return;
  serve::State was = std::exchange(r.noted, s.state);
  std::string exit = s.last_exit.empty() ? "" : " (" + s.last_exit + ")";
  switch (s.state) {
    case serve::State::kRestarting:
      Note(fmt::format("{} exited{}; restart #{} follows", s.id, exit, s.restarts + 1));
      break;
    case serve::State::kCrashLooping:
      Note(
          fmt::format("{} is crash-looping{} after {} restarts; carve retries it more slowly. "
                      "Its log: {}",
                      s.id, exit, s.restarts, s.log_path));
      break;
    case serve::State::kReady:
      if (was == serve::State::kStarting && s.restarts == 0) {
        ready_time[r.want.model] =
            std::chrono::duration_cast<std::chrono::milliseconds>(s.since - r.started_at);
        NoteLoaded(s.id, r, s.since - r.started_at);
      }
      if (was == serve::State::kRestarting || was == serve::State::kCrashLooping ||
          (was == serve::State::kStarting && s.restarts > 0))
        Note(fmt::format("{} is ready again on port {} (pid {}, restart #{})", s.id, s.port, s.pid,
                         s.restarts));
      break;
    default:
      break;
  }
}

// Tells the machine about a new engine PID on the replica's slice (the
// simulator shows it and its memory; a real driver sees it itself).
void Service::Impl::NoteEngine(const serve::ReplicaStatus& s, Replica& r, bool& noted) {
  if (s.pid <= 0 || s.pid == r.noted_pid) return;
  const Slot& sl = r.want.slot;
  device::Process p{static_cast<uint32_t>(s.pid),
                    serve::EngineName(s.engine),
                    sl.memory_mib,
                    sl.gi,
                    sl.ci,
                    s.workdir + "/" + std::string(kActivityFile)};
  if (r.noted_pid > 0) (void)machine->ForgetProcess(static_cast<uint32_t>(r.noted_pid));
  if (machine->NoteProcess(sl.gpu, p).ok()) r.noted_pid = s.pid, noted = true;
}

void Service::Impl::Tick(bool force_write) {
  std::vector<gateway::Backend> ready;
  bool noted = false;
  for (const auto& s : sup->Snapshot()) {
    auto it = replicas.find(s.id);
    if (it == replicas.end()) continue;
    Replica& r = it->second;
    NoteStateChange(s, r);
    NoteEngine(s, r, noted);
    r.served = r.served || s.state == serve::State::kReady;
    if (s.state == serve::State::kReady && s.port > 0)
      ready.push_back(BackendFor(
          {s.model, UrlOf(s.port), serve::EngineName(s.engine), r.want.slot.gpu, r.want.slot.gi},
          gpus_seen));
  }
  // The models too: an on-demand model is listed (and its requests held)
  // before any replica of it ever runs.
  std::vector<std::string> names = ModelNames();
  bool changed = ready != backends || names != listed;
  if (gw && changed && gw->UpdateBackends(ready, names).ok()) backends = ready, listed = names;
  auto now = std::chrono::steady_clock::now();
  if (now - last_count > std::chrono::seconds(2)) {
    CountTraffic();
  } else if (noted || force_write) {
    if (auto g = machine->Gpus(); g.ok()) gpus_seen = std::move(*g);  // memory as engines use it
  }
  nlohmann::ordered_json status = StatusNow();
  std::string text = status.dump(2) + "\n";
  // The status changes every second (its clock); write it when it changed
  // otherwise, or each second.
  if (force_write || text != last_status || now - last_write > std::chrono::seconds(1)) {
    slice_metrics->Set(MetricsText(SlicesView()) +
                       PoolMetrics());  // /metrics no older than the status
    status_line->Set(status.dump());
    (void)WriteStatus(o.state_dir, text);
    last_write = now;
  }
  last_status = text;
}

ServiceView Service::Impl::View() const {
  ServiceView v;
  v.pid = ::getpid();
  v.spec = spec_path;
  v.state_dir = o.state_dir;
  v.listen = gwcfg.listen;
  if (gw && gwcfg.listen_port == 0) v.listen = fmt::format("{}:{}", gwcfg.listen_host, gw->port());
  const auto by_url = traffic.ByUrl();
  const ModelTraffic kNone;
  for (const auto& s : sup ? sup->Snapshot() : std::vector<serve::ReplicaStatus>{}) {
    auto it = replicas.find(s.id);
    if (it == replicas.end()) continue;
    const Replica& r = it->second;
    auto t = s.port > 0 ? by_url.find(UrlOf(s.port)) : by_url.end();
    const ModelTraffic& c = t == by_url.end() ? kNone : t->second;
    v.replicas.push_back(
        {s, r.want.slot, r.want.spec.launcher, c.requests, c.errors, c.requests_per_s});
  }
  v.gpus = gpus_seen;
  v.reload_error = reload_error;
  v.models = ModelNames();
  v.traffic = traffic.ByModel();
  v.traffic_window_s = std::chrono::duration<double>(traffic.window()).count();
  v.quarantined = quarantined;
  v.spares = spares;
  return v;
}

MachineView Service::Impl::SlicesView() const {
  MachineView v{gpus_seen, utilisation_seen, {}};
  for (const auto& s : sup ? sup->Snapshot() : std::vector<serve::ReplicaStatus>{}) {
    auto it = replicas.find(s.id);
    if (it == replicas.end()) continue;
    const Slot& sl = it->second.want.slot;
    v.replicas.push_back(
        {s.id,
         {s.model, s.port ? UrlOf(s.port) : "", serve::EngineName(s.engine), sl.gpu, sl.gi},
         serve::StateName(s.state),
         s.restarts});
  }
  return v;
}

nlohmann::ordered_json Service::Impl::StatusNow() const {
  nlohmann::ordered_json out = up::StatusJson(View());
  out.update(StatusParts(SlicesView()));
  if (!pools.empty()) out["pools"] = PoolsJson();
  return out;
}

}  // namespace carve::up
