// carve up: the service (see up.h): start, converge on a spec, reload, stop.
#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "plan/on_demand.h"
#include "plan/spec_plan.h"
#include "serve/access.h"
#include "up/gateway_config.h"
#include "up/live_journal.h"
#include "up/moves.h"
#include "up/overrides.h"
#include "up/rebalance.h"
#include "up/reconcile.h"
#include "up/service_impl.h"
#include "up/state_dir.h"
#include "util/utc.h"

namespace carve::up {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// The spec planned on the machine now (as if it held no slices: `fresh`);
// every model must be served.
Result<plan::Plan> PlanAll(const spec::Spec& next, const std::string& path,
                           const std::vector<device::Gpu>& gpus, bool fresh) {
  CARVE_ASSIGN_OR_RETURN(plan::Plan p, fresh ? plan::PlanSpecOnMachineFresh(next, gpus)
                                             : plan::PlanSpecOnMachine(next, gpus));
  if (p.unmet.empty()) return p;
  std::string why;
  for (const auto& u : p.unmet) why += fmt::format("\n  {}: {}", u.model, u.reason);
  return Status::Insufficient(
      fmt::format("{}: the machine cannot serve every model:{}", next.file, why),
      "Run carve plan " + path + " to see the plan; lower replicas or memory.");
}

bool ExistsNow(const std::vector<device::Gpu>& gpus, int gpu, const apply::SliceSpec& s) {
  for (const auto& g : gpus)
    if (g.index == gpu)
      for (const auto& gi : g.gpu_instances)
        if (gi.profile == s.profile->name && gi.placement.start == *s.start) return true;
  return false;
}

std::vector<Want> WantsOf(const std::vector<WantedReplica>& wanted) {
  std::vector<Want> out;
  for (const auto& w : wanted) out.push_back({w.model, w.settings, w.slot.ref()});
  return out;
}

// The pinned replicas (on-demand ones live in their pools: service_pool.cpp).
std::vector<Have> HavesOf(const std::map<std::string, Replica>& replicas) {
  std::vector<Have> out;
  for (const auto& [id, r] : replicas)
    if (r.pool.empty()) out.push_back({id, r.want.model, r.want.settings, r.want.slot.ref()});
  return out;
}

serve::SupervisorOptions SupervisorOptionsFor(const Options& o) {
  serve::SupervisorOptions so;
  so.state_dir = o.state_dir;
  so.carve_path = o.carve_path;
  so.stop_grace = o.stop_grace;
  so.ports = std::make_shared<serve::PortAllocator>(o.port_first, o.port_last);
  // Quick restarts, and a crash loop called after 5 failures in a minute; a
  // crash-looping engine is then retried once a minute (docs/up.md).
  so.restart.base = serve::Millis(250);
  so.restart.max = serve::Millis(30'000);
  so.restart.crash_loop_count = 5;
  so.restart.crash_loop_window = serve::Millis(60'000);
  so.restart.crash_loop_delay = serve::Millis(60'000);
  return so;
}

// The machine now plus the new slices of temporary homes, on the GPUs they are on.
apply::Layouts WithTemporarySlices(const std::vector<device::Gpu>& gpus,
                                   const std::vector<WantedReplica>& temps) {
  apply::Layouts out;
  for (const auto& g : gpus) {
    apply::GpuLayout l = apply::LayoutOf(g);
    bool changed = false;
    for (const auto& t : temps) {
      const mig::Profile* p = g.model ? g.model->FindProfile(t.slot.profile) : nullptr;
      if (t.slot.gpu != g.index || !p || ExistsNow(gpus, g.index, {p, t.slot.start, {}})) continue;
      l.slices.push_back(apply::FullSlice(*g.model, *p, t.slot.start));
      changed = true;
    }
    if (changed) out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

std::string Service::Impl::NewId(const std::string& model) const {
  for (int k = 0;; ++k) {
    std::string id = fmt::format("{}/{}", model, k);
    if (!replicas.count(id)) return id;
  }
}

// Plans `path`, keeps the replicas that did not change, stops the others,
// applies the layout, starts what is new and waits for it. A rebalance
// (`replan`, rebalance.h) plans as it says and also frees the GPUs its plan
// leaves unused.
Status Service::Impl::Converge(const std::string& path, bool first, Replan replan) {
  CARVE_ASSIGN_OR_RETURN(spec::Spec next, spec::LoadSpec(path));
  CARVE_RETURN_IF_ERROR(ApplyOverrides(next, o.state_dir));  // carve advise --apply, autoscale
  if (next.models.empty())
    return Status::InvalidArgument(fmt::format("{}: no models to serve", next.file),
                                   "Add a models: list (docs/spec.md).");
  CARVE_ASSIGN_OR_RETURN(auto cfg, GatewayConfigFor(next, o.state_dir));
  if (!first && cfg.listen != gwcfg.listen)
    return Status::InvalidArgument(
        fmt::format("{}: gateway listen changed ({} → {}); a reload cannot move the endpoint",
                    next.file, gwcfg.listen, cfg.listen),
        "Run carve down, then carve up.");
  CARVE_ASSIGN_OR_RETURN(auto gpus, machine->Gpus());
  CARVE_ASSIGN_OR_RETURN(plan::Plan p, PlanAll(next, path, gpus, replan == Replan::kFresh));
  CARVE_ASSIGN_OR_RETURN(auto wanted, WantedFromPlan(p, next, o.ready_timeout_ms));
  if (!replicas.empty()) {  // engines that can stay where they run, do
    std::map<std::string, std::string> settings;
    for (const auto& w : wanted) settings[w.model] = w.settings;
    std::vector<Running> running;
    std::set<std::string> stable;
    for (const auto& [id, r] : replicas) {
      if (!r.pool.empty()) {  // a resident keeps its pool slice where it is
        running.push_back({plan::PoolModelName(r.pool), r.want.slot});
        stable.insert(plan::PoolModelName(r.pool));
        continue;
      }
      running.push_back({r.want.model, r.want.slot});
      if (settings.count(r.want.model) && settings[r.want.model] == r.want.settings)
        stable.insert(r.want.model);
    }
    StayPut(p, running, stable);
  }
  CARVE_RETURN_IF_ERROR(PlaceAroundFaults(p, next));
  CARVE_RETURN_IF_ERROR(SetPools(next, p));
  CARVE_ASSIGN_OR_RETURN(wanted, WantedFromPlan(p, next, o.ready_timeout_ms));
  CARVE_ASSIGN_OR_RETURN(apply::Layouts layouts, LayoutsFromPlan(p, gpus));
  if (replan != Replan::kNone) layouts = FreeUnusedGpus(p, gpus, EnginePids(), std::move(layouts));
  // Make before break: the old engine of a replica that moves serves until
  // its successor is ready, then is drained and stopped, and its slice goes
  // last. Only one whose slice is in the way of the new layout stops first
  // (its model's requests wait for the new engine: gateway.timeouts.hold_ms).
  std::vector<WantedReplica> add;
  std::vector<Leaving> leaving;
  std::set<std::string> moving;
  for (const Action& a : Reconcile(WantsOf(wanted), HavesOf(replicas))) {
    if (a.kind == ActionKind::kMove || a.kind == ActionKind::kStop)
      leaving.push_back({a.id, replicas.at(a.id).want.slot});
    if (a.kind == ActionKind::kMove) moving.insert(a.id);
    if (a.kind == ActionKind::kMove || a.kind == ActionKind::kStart)
      add.push_back(std::move(wanted[a.want]));
  }
  // The slices of leaving replicas go, on GPUs the plan no longer uses too,
  // and so does what an interrupted change left (live_journal.h), unless this
  // plan uses them.
  LiveJournal journal{path, UtcNow(), "plan", {}};
  if (auto pending = ReadLiveJournal(o.state_dir); !pending.ok()) {
    Note(pending.status().ToString() + " (ignored: no slice it lists is destroyed)");
  } else if (*pending) {
    Note(
        fmt::format("finishing the change an earlier carve up began at {} (step {}): {} slice(s) "
                    "it made or was freeing go unless this plan uses them",
                    (*pending)->started, (*pending)->step, (*pending)->slices.size()));
    journal.slices = (*pending)->slices;
  }
  for (const auto& l : leaving) journal.slices.push_back(l.slot.ref());
  std::set<std::string> keep;
  for (const auto& w : wanted) keep.insert(w.slot.where());
  for (const auto& w : add) keep.insert(w.slot.where());
  for (const auto& s : spares) keep.insert(s.str());
  for (const auto& q : quarantined) keep.insert(q.slice.str());
  for (const auto& [name, slots] : pools)
    for (const auto& s : slots) keep.insert(s.where());
  layouts = DropLeftovers(std::move(layouts), gpus, journal.slices, keep);
  std::vector<Slot> arriving;
  for (const auto& w : add) arriving.push_back(w.slot);
  Interim interim = InterimLayouts(layouts, gpus, leaving, arriving);
  std::set<std::string> first_out;
  for (const auto& [id, why] : interim.stop_first) first_out.insert(id);
  // A model whose every replica stops first serves meanwhile from a
  // temporary home on free capacity, where there is one.
  std::map<std::string, std::string> model_of;
  for (const auto& [id, r] : replicas) model_of[id] = r.want.model;
  const std::set<std::string> dark = DarkModels(interim, model_of, moving);
  const std::vector<WantedReplica> temps = TemporaryReplicas(interim, gpus, dark, add);
  NoteStopsFirst(interim, moving, dark, temps);
  std::vector<WantedReplica> launches = add;
  launches.insert(launches.end(), temps.begin(), temps.end());
  CARVE_RETURN_IF_ERROR(Preflight(launches));  // before any slice or engine changes

  // Journaled from here: what the interim layout makes and what leaves.
  for (const auto& l : interim.layouts)
    for (const auto& s : l.slices)
      if (s.start && !ExistsNow(gpus, l.gpu, s))
        journal.slices.push_back({l.gpu, s.profile->name, *s.start});
  auto step = [&](const char* name, int n) -> Status {
    journal.step = name;
    if (!journal.slices.empty()) CARVE_RETURN_IF_ERROR(WriteLiveJournal(o.state_dir, journal));
    if (!first) CrashPoint(n);
    return Status::Ok();
  };
  if (!temps.empty()) {
    CARVE_RETURN_IF_ERROR(step("temporary homes", 7));
    CARVE_RETURN_IF_ERROR(ApplyLayout(WithTemporarySlices(gpus, temps), {}));
    CARVE_RETURN_IF_ERROR(StartTemporary(temps, leaving));
  }
  CARVE_RETURN_IF_ERROR(step("interim layout", 1));
  CARVE_RETURN_IF_ERROR(ApplyLayout(interim.layouts, first_out));
  CARVE_RETURN_IF_ERROR(step("start successors", 2));
  CARVE_ASSIGN_OR_RETURN(gpus, machine->Gpus());
  std::vector<std::string> started;
  for (auto& w : add) {
    std::string id;
    CARVE_RETURN_IF_ERROR(StartReplica(std::move(w), gpus, id));
    started.push_back(id);
  }
  spec = std::move(next);
  spec_path = path;
  Tick(true);
  CARVE_RETURN_IF_ERROR(step("wait for successors", 3));
  // A successor that does not become ready leaves its predecessor serving.
  CARVE_RETURN_IF_ERROR(WaitStarted(started));
  CARVE_RETURN_IF_ERROR(step("drain and stop the old engines", 4));
  // The rest of the leaving (those stopped first are gone, and a successor
  // may have taken one's id): drained and stopped, then their slices freed.
  for (const auto& l : leaving)
    if (!first_out.count(l.id)) StopReplica(l.id);
  CARVE_RETURN_IF_ERROR(step("final layout", 5));
  CARVE_RETURN_IF_ERROR(ApplyLayout(layouts, {}));
  CARVE_RETURN_IF_ERROR(step("done", 6));
  RemoveLiveJournal(o.state_dir);
  return Status::Ok();
}

std::vector<WantedReplica> Service::Impl::TemporaryReplicas(
    Interim& interim, const std::vector<device::Gpu>& gpus, const std::set<std::string>& dark,
    const std::vector<WantedReplica>& add) const {
  std::map<std::string, Slot> wanted;  // model → its (first) successor's slot
  for (const auto& w : add)
    if (dark.count(w.model)) wanted.try_emplace(w.model, w.slot);
  std::set<std::string> busy;
  for (const auto& [id, r] : replicas) busy.insert(r.want.slot.where());
  for (const auto& w : add) busy.insert(w.slot.where());
  for (const auto& sp : spares) busy.insert(sp.str());
  for (const auto& q : quarantined) busy.insert(q.slice.str());
  for (const auto& [name, slots] : pools)
    for (const auto& s : slots) busy.insert(s.where());
  std::vector<WantedReplica> out;
  for (const auto& home : AddTemporaryHomes(interim, gpus, wanted, busy)) {
    auto succ = std::find_if(add.begin(), add.end(),
                             [&](const WantedReplica& w) { return w.model == home.model; });
    WantedReplica t = *succ;
    t.slot = home.slot;
    out.push_back(std::move(t));
  }
  return out;
}

Status Service::Impl::StartTemporary(const std::vector<WantedReplica>& temps,
                                     std::vector<Leaving>& leaving) {
  CARVE_ASSIGN_OR_RETURN(auto gpus, machine->Gpus());
  std::vector<std::string> ids;
  for (const auto& w : temps) {
    std::string id;
    CARVE_RETURN_IF_ERROR(StartReplica(w, gpus, id));
    ids.push_back(id);
    leaving.push_back({id, replicas.at(id).want.slot});
  }
  Tick(true);
  if (Status ready = WaitStarted(ids); !ready.ok()) {
    if (o.interrupted && o.interrupted()) return ready;
    // The change goes on: its model waits for its new engine, as without one.
    Note("a temporary home did not become ready; its model waits for its new engine: " +
         ready.message());
  }
  return Status::Ok();
}

std::string Service::Impl::UnavailableFor(const std::string& model) const {
  auto it = ready_time.find(model);
  if (it != ready_time.end())
    return fmt::format("about {:.1f} s (its engine's last start took that long)",
                       static_cast<double>(it->second.count()) / 1000.0);
  for (const auto& [id, r] : replicas)
    if (r.want.model == model)
      return fmt::format("until its new engine is ready (at most {} s, its ready timeout)",
                         serve::ProbeFor(r.want.spec).ready_timeout_ms / 1000);
  return "until its new engine is ready";
}

// Says which replicas stop before their successors start, and, before
// anything changes, which models have no ready replica meanwhile and for
// about how long (their requests are held), or serve from a temporary home.
void Service::Impl::NoteStopsFirst(const Interim& interim, const std::set<std::string>& moving,
                                   const std::set<std::string>& dark,
                                   const std::vector<WantedReplica>& temps) const {
  for (const auto& [id, why] : interim.stop_first)
    Note(moving.count(id) ? fmt::format("{} stops before its successor starts ({})", id, why)
                          : fmt::format("{} stops first ({})", id, why));
  for (const auto& m : dark) {
    auto t = std::find_if(temps.begin(), temps.end(),
                          [&](const WantedReplica& w) { return w.model == m; });
    if (t != temps.end()) {
      Note(
          fmt::format("{} serves from a temporary home on {} meanwhile (no request waits); it "
                      "goes once the new engine is ready",
                      m, t->slot.where()));
      continue;
    }
    Note(
        fmt::format("{} has no ready replica for {}: no free slice for a temporary home; its "
                    "requests wait up to {} ms (gateway.timeouts.hold_ms)",
                    m, UnavailableFor(m), gwcfg.timeouts.hold_ms));
  }
}

void Service::Impl::CrashPoint(int step) const {
  if (o.crash_at_step != step) return;
  Note(fmt::format("test: killed at step {} of a live change (CARVE_TEST_CRASH_AT_STEP)", step));
  ::kill(::getpid(), SIGKILL);
}

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() { Stop(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<Service>> Service::Start(const std::string& spec_path, Options options,
                                                Hooks hooks) {
  auto impl = std::make_unique<Impl>();
  impl->o = std::move(options);
  impl->h = std::move(hooks);
  impl->spec_path = fs::absolute(spec_path).string();
  CARVE_RETURN_IF_ERROR(serve::CreateSearchableDirs(fs::absolute(impl->o.state_dir).string()));
  CARVE_ASSIGN_OR_RETURN(impl->machine, impl->h.open_machine());
  CARVE_ASSIGN_OR_RETURN(spec::Spec first, spec::LoadSpec(impl->spec_path));
  CARVE_ASSIGN_OR_RETURN(impl->gwcfg, GatewayConfigFor(first, impl->o.state_dir));
  impl->wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl->sup = std::make_unique<serve::Supervisor>(SupervisorOptionsFor(impl->o));
  int wake = impl->wake;
  impl->sup->SetObserver([wake](const serve::ReplicaStatus&) {
    uint64_t one = 1;
    (void)!::write(wake, &one, sizeof one);
  });
  // The gateway first: a taken listen port fails before any slice changes.
  auto gw = gateway::Gateway::Start(impl->gwcfg);
  if (!gw.ok())
    return gw.status()
        .Prefixed(fmt::format("gateway on {}", impl->gwcfg.listen))
        .WithHint(
            "Another program holds it? Set gateway: {listen: 127.0.0.1:PORT} in the spec, or stop "
            "that program.");
  impl->gw = std::move(*gw);
  impl->gw->SetExtraMetrics([m = impl->slice_metrics] { return m->Get(); });
  impl->gw->SetStatusSource([s = impl->status_line] { return s->Get(); });
  // A request held for a cold on-demand model: record it, wake the loop.
  impl->gw->SetDemandHandler([box = impl->demand, wake](const std::string& model) {
    {
      std::lock_guard<std::mutex> lock(box->mu);
      box->models.insert(model);
    }
    uint64_t one = 1;
    (void)!::write(wake, &one, sizeof one);
  });
  auto service = std::unique_ptr<Service>(new Service(std::move(impl)));
  Status s = service->impl_->Converge(service->impl_->spec_path, /*first=*/true);
  if (!s.ok()) {
    service->Stop(std::chrono::milliseconds(0));
    return s;
  }
  return service;
}

Status Service::Reload(const std::string& spec_path, Replan replan) {
  Status s = impl_->Converge(fs::absolute(spec_path).string(), /*first=*/false, replan);
  impl_->reload_error = s.ok() ? "" : s.ToString();
  impl_->Tick(true);
  return s;
}

void Service::Tick() { impl_->Tick(false); }
int Service::wake_fd() const { return impl_->wake; }
std::string Service::listen() const { return impl_->View().listen; }
std::chrono::milliseconds Service::drain() const {
  return std::chrono::milliseconds(impl_->gwcfg.timeouts.drain_ms);
}
Json Service::StatusJson() { return impl_->StatusNow(); }

void Service::Stop(std::chrono::milliseconds drain) {
  if (!impl_) return;
  if (impl_->gw) impl_->gw->Stop(drain);
  impl_->gw.reset();
  if (impl_->sup) {
    impl_->sup->StopAll();
    for (const auto& [id, r] : impl_->replicas)
      if (r.noted_pid > 0) (void)impl_->machine->ForgetProcess(static_cast<uint32_t>(r.noted_pid));
    impl_->replicas.clear();
    impl_->sup.reset();
  }
  if (impl_->wake >= 0) ::close(impl_->wake);
  impl_->wake = -1;
  RemoveStatus(impl_->o.state_dir);
}

}  // namespace carve::up
