// carve up: the service (see up.h). The state directory's files and their
// formats are listed in docs/up.md.
#include "up/up.h"

#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "apply/changes.h"
#include "apply/layout_file.h"
#include "apply/reconcile.h"
#include "device/sim/sim_machine.h"
#include "device/slice_ref.h"
#include "gateway/gateway.h"
#include "render/plan_render.h"
#include "serve/access.h"
#include "serve/http_probe.h"
#include "serve/preflight.h"
#include "serve/supervisor.h"
#include "up/gateway_config.h"
#include "util/atomic_file.h"
#include "util/file_lock.h"
#include "util/read_file.h"

namespace carve::up {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// Where one replica runs: a slice the plan chose, resolved to its MIG device
// once the layout is applied.
struct Slot {
  std::string model;
  int gpu = 0;
  std::string profile;  // "3g.40gb", or "whole" for a GPU with MIG off
  int start = 0;
  uint64_t memory_mib = 0;  // the replica's share, shown as the engine's memory (simulator)
  double memory_fraction = 0.9;
  std::vector<std::string> option_args;
  // After apply:
  int gi = -1, ci = -1;
  std::string uuid;
};

struct Wanted {
  Slot slot;
  serve::ReplicaSpec spec;  // without id and uuid
  std::string key;          // what must stay equal for the engine to keep running
};

struct Replica {
  Wanted want;
  int attached_pid = 0;                          // the engine PID attached to its simulated slice
  serve::State noted = serve::State::kStarting;  // the last state written to the log
  uint64_t requests = 0, errors = 0;
  double rps = 0;
};

Status Errno(const std::string& what, const std::string& path) {
  return Status::Io(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

// A state file's text; "" when it is missing or unreadable (callers then see
// no pid, no status).
std::string ReadAll(const std::string& path) {
  auto text = ReadFileBounded(path, kMaxConfigBytes, "state file");
  return text.ok() ? *text : "";
}

bool Alive(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

const spec::Model* FindModel(const spec::Spec& s, const std::string& name) {
  for (const auto& m : s.models)
    if (m.name == name) return &m;
  return nullptr;
}

// The replicas the plan places, each with its engine's launch and its key.
Result<std::vector<Wanted>> WantedFromPlan(const plan::Plan& p, const spec::Spec& s,
                                           const Options& o) {
  std::vector<Wanted> out;
  for (const auto& g : p.gpus)
    for (const auto& slice : g.slices)
      for (const auto& r : slice.replicas) {
        Wanted w;
        w.slot.model = p.models.at(r.model).name;
        w.slot.gpu = g.gpu.local_index;
        w.slot.profile = slice.profile ? slice.profile->name : "whole";
        w.slot.start = slice.start;
        w.slot.memory_mib = r.memory_mib;
        w.slot.memory_fraction = r.memory_fraction > 0 ? r.memory_fraction : 0.9;
        w.slot.option_args = r.args;
        const spec::Model* m = FindModel(s, w.slot.model);
        if (!m) return Status::Internal("the plan names an unknown model " + w.slot.model);
        if (r.tp_group >= 0)
          return Status::NotSupported(
              fmt::format("{}: model '{}' spans GPUs (tensor parallel); carve up runs one slice "
                          "per replica",
                          m->where.str(), m->name),
              "Give it a memory that fits one GPU, or serve it with carve render k8s.");
        CARVE_ASSIGN_OR_RETURN(w.spec.engine,
                               serve::ParseEngine(m->engine.empty() ? "vllm" : m->engine));
        w.spec.model = m->name;
        w.spec.source = m->source;
        w.spec.command = m->command;
        w.spec.args = m->args;
        w.spec.args.insert(w.spec.args.end(), r.args.begin(), r.args.end());
        w.spec.memory_fraction = w.slot.memory_fraction;
        w.spec.image = m->image;
        w.spec.launcher =
            m->launcher == "docker" ? serve::Launcher::kDocker : serve::Launcher::kProcess;
        w.spec.env = m->env;
        if (o.ready_timeout_ms > 0) {
          serve::ProbeSpec probe = serve::DefaultProbe(w.spec.engine);
          probe.ready_timeout_ms = o.ready_timeout_ms;
          w.spec.probe = probe;
        }
        Json k = {
            {"model", m->name},      {"gpu", w.slot.gpu},   {"profile", w.slot.profile},
            {"start", w.slot.start}, {"engine", m->engine}, {"source", m->source},
            {"command", m->command}, {"args", w.spec.args}, {"fraction", w.spec.memory_fraction},
            {"image", m->image},     {"env", m->env},       {"launcher", m->launcher}};
        w.key = k.dump();
        out.push_back(std::move(w));
      }
  return out;
}

// Where `slot` is, as scripts name it.
device::SliceRef RefOf(const Slot& slot) {
  return {slot.gpu, slot.profile == "whole" ? "" : slot.profile, slot.start};
}

// Finds the slice of `slot` on the machine now: its GPU instance, first
// compute instance and MIG UUID (the GPU's UUID for a whole GPU).
Status Resolve(Slot& slot, const std::vector<device::Gpu>& gpus) {
  CARVE_ASSIGN_OR_RETURN(device::FoundSlice found, device::FindSlice(gpus, RefOf(slot)));
  slot.uuid = found.uuid;
  if (found.gi) slot.gi = found.gi->id, slot.ci = found.gi->compute_instances.front().id;
  return Status::Ok();
}

std::string Tail(const std::string& text, size_t lines) {
  size_t pos = text.size();
  while (lines-- > 0 && pos > 0) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

}  // namespace

Result<std::vector<serve::ReplicaSpec>> ReplicasFromPlan(const plan::Plan& p, const spec::Spec& s,
                                                         const std::vector<device::Gpu>& gpus,
                                                         int& placeholders) {
  CARVE_ASSIGN_OR_RETURN(auto wanted, WantedFromPlan(p, s, Options{}));
  std::vector<serve::ReplicaSpec> out;
  std::map<std::string, int> next;
  placeholders = 0;
  for (auto& w : wanted) {
    if (!Resolve(w.slot, gpus).ok()) {
      w.slot.uuid = fmt::format("MIG-{}-{}@{}", w.slot.gpu, w.slot.profile, w.slot.start);
      ++placeholders;
    }
    w.spec.id = fmt::format("{}/{}", w.slot.model, next[w.slot.model]++);
    w.spec.uuid = w.slot.uuid;
    w.spec.slice = RefOf(w.slot).str();
    out.push_back(std::move(w.spec));
  }
  return out;
}

struct Service::Impl {
  Options o;
  Hooks h;
  std::string spec_path;
  spec::Spec spec;
  std::unique_ptr<device::Machine> machine;
  device::sim::SimMachine* sim = nullptr;
  std::unique_ptr<serve::Supervisor> sup;
  std::unique_ptr<gateway::Gateway> gw;
  gateway::GatewayConfig gwcfg;
  int wake = -1;
  std::map<std::string, Replica> replicas;  // by replica id
  std::vector<gateway::Backend> backends;
  std::map<std::string, device::Gpu> slice_memory;  // by "gpu", refreshed with metrics
  std::vector<device::Gpu> gpus_seen;
  std::chrono::steady_clock::time_point last_scrape{};
  std::string last_status;
  std::chrono::steady_clock::time_point last_write{};
  std::string reload_error;

  void Note(const std::string& s) const {
    if (o.note) o.note(s);
  }
  std::string NewId(const std::string& model) const {
    for (int k = 0;; ++k) {
      std::string id = fmt::format("{}/{}", model, k);
      if (!replicas.count(id)) return id;
    }
  }
  std::set<uint32_t> EnginePids() const {
    std::set<uint32_t> pids;
    for (const auto& s : sup->Snapshot())
      if (s.pid > 0) pids.insert(static_cast<uint32_t>(s.pid));
    for (const auto& [id, r] : replicas)
      if (r.attached_pid > 0) pids.insert(static_cast<uint32_t>(r.attached_pid));
    return pids;
  }

  Status Converge(const std::string& path, bool first);
  Status Preflight(const std::vector<Wanted>& add) const;
  Status ApplyLayout(const plan::Plan& p, const std::set<std::string>& going);
  Status WaitStarted(const std::vector<std::string>& ids);
  void StopReplica(const std::string& id);
  // Every model of the spec: the gateway keeps them listed while none of
  // their replicas is ready (503 with Retry-After, not 404).
  std::vector<std::string> ModelNames() const {
    std::vector<std::string> names;
    for (const auto& m : spec.models) names.push_back(m.name);
    return names;
  }
  void Tick(bool force_write);
  void NoteStateChange(const serve::ReplicaStatus& s, Replica& r);
  void Scrape();
  Json StatusNow();
};

// Plans `path`, keeps the replicas that did not change, stops the others,
// applies the layout, starts what is new and waits for it.
Status Service::Impl::Converge(const std::string& path, bool first) {
  CARVE_ASSIGN_OR_RETURN(spec::Spec next, spec::LoadSpec(path));
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
  CARVE_ASSIGN_OR_RETURN(plan::Plan p, h.plan(next, gpus));
  if (!p.unmet.empty()) {
    std::string why;
    for (const auto& u : p.unmet) why += fmt::format("\n  {}: {}", u.model, u.reason);
    return Status::Insufficient(
        fmt::format("{}: the machine cannot serve every model:{}", next.file, why),
        "Run carve plan " + path + " to see the plan; lower replicas or memory.");
  }
  CARVE_ASSIGN_OR_RETURN(auto wanted, WantedFromPlan(p, next, o));

  // Match what runs with what is wanted, by key.
  std::set<std::string> keep;
  std::vector<Wanted> add;
  for (auto& w : wanted) {
    auto it = std::find_if(replicas.begin(), replicas.end(), [&](const auto& kv) {
      return kv.second.want.key == w.key && !keep.count(kv.first);
    });
    if (it != replicas.end())
      keep.insert(it->first);
    else
      add.push_back(std::move(w));
  }
  std::set<std::string> going;
  for (const auto& [id, r] : replicas)
    if (!keep.count(id)) going.insert(id);

  CARVE_RETURN_IF_ERROR(Preflight(add));  // before any slice or engine changes
  CARVE_RETURN_IF_ERROR(ApplyLayout(p, going));
  CARVE_ASSIGN_OR_RETURN(gpus, machine->Gpus());
  std::vector<std::string> started;
  for (auto& w : add) {
    CARVE_RETURN_IF_ERROR(Resolve(w.slot, gpus));
    std::string id = NewId(w.slot.model);
    w.spec.id = id;
    w.spec.uuid = w.slot.uuid;
    Note(fmt::format("starting {} ({}) on GPU {} {}@{} {}", id, serve::EngineName(w.spec.engine),
                     w.slot.gpu, w.slot.profile, w.slot.start, w.slot.uuid));
    CARVE_RETURN_IF_ERROR(sup->Start(w.spec).Prefixed(id));
    replicas[id] = Replica{std::move(w)};
    started.push_back(id);
  }
  spec = std::move(next);
  spec_path = path;
  gwcfg.models.clear();
  Tick(true);
  return WaitStarted(started);
}

// Whether the engines to start can start (serve/preflight.h), each as its
// slice's kind of device: a MIG UUID, or a whole GPU's.
Status Service::Impl::Preflight(const std::vector<Wanted>& add) const {
  std::vector<serve::ReplicaSpec> specs;
  for (const auto& w : add) {
    serve::ReplicaSpec s = w.spec;
    s.id = w.slot.model;
    s.uuid = w.slot.profile == "whole" ? "GPU-" : "MIG-";
    specs.push_back(std::move(s));
  }
  serve::PreflightOptions po;
  po.state_dir = o.state_dir;
  po.carve_path = o.carve_path.empty() ? fs::read_symlink("/proc/self/exe").string() : o.carve_path;
  po.port_first = o.port_first;
  po.port_last = o.port_last;
  return serve::Preflight(specs, po);
}

void Service::Impl::StopReplica(const std::string& id) {
  auto it = replicas.find(id);
  if (it == replicas.end()) return;
  Note(fmt::format("stopping {}", id));
  // Out of the gateway first, so no new request goes to it.
  std::vector<gateway::Backend> rest;
  std::string url;
  if (auto st = sup->Get(id); st.ok()) url = fmt::format("http://127.0.0.1:{}", st->port);
  for (const auto& b : backends)
    if (b.url != url) rest.push_back(b);
  if (gw && rest.size() != backends.size() && gw->UpdateBackends(rest, ModelNames()).ok())
    backends = rest;
  (void)sup->Stop(id);
  if (sim && it->second.attached_pid > 0)
    (void)sim->Detach(static_cast<uint32_t>(it->second.attached_pid));
  replicas.erase(it);
}

// Applies the plan's layout. Slices in the way that only carve's own engines
// use are freed by stopping those engines; any other process refuses it.
Status Service::Impl::ApplyLayout(const plan::Plan& p, const std::set<std::string>& going) {
  std::string text = render::PlanLayoutsYaml(p, spec_path);
  CARVE_ASSIGN_OR_RETURN(auto gpus, machine->Gpus());
  CARVE_ASSIGN_OR_RETURN(auto layouts, apply::LoadCarveLayout(text, "the plan", gpus));
  CARVE_ASSIGN_OR_RETURN(apply::Changes ap, apply::MakeChanges(gpus, layouts, false));
  std::set<uint32_t> ours = EnginePids();
  std::vector<std::string> foreign;
  auto check = [&](const std::vector<device::Process>& ps, int gpu) {
    for (const auto& pr : ps)
      if (!ours.count(pr.pid))
        foreign.push_back(fmt::format("GPU {}: {}", gpu, apply::ProcessText(pr)));
  };
  for (const auto& d : ap.gpus) {
    for (const auto& c : d.destroy) check(c.processes, d.before.index);
    if (d.mode_change) check(d.mode_blockers, d.before.index);
  }
  if (!foreign.empty()) {
    std::string list;
    for (const auto& f : foreign) list += "\n  " + f;
    return Status::InUse(
        fmt::format("the plan must change slices that processes other than carve's engines use:{}",
                    list),
        "Stop them first (carve apply --force can), or change the spec so the plan keeps those "
        "slices. "
        "Nothing was changed.");
  }
  for (const auto& id : going) StopReplica(id);
  if (ap.empty()) return Status::Ok();
  auto lock = FileLock::Acquire(machine->ChangeLockPath(), /*wait=*/true);
  if (!lock.ok()) return lock.status();
  lock->Note(fmt::format("pid {}, carve up {}", ::getpid(), spec_path));
  CARVE_ASSIGN_OR_RETURN(gpus, machine->Gpus());  // our engines are gone now
  CARVE_ASSIGN_OR_RETURN(ap, apply::MakeChanges(gpus, layouts, false));
  if (ap.in_use()) return apply::InUseRefusal(ap);
  apply::Options ao;
  ao.state_dir = o.journal_dir;
  ao.on_op = [this](const apply::Op& op, int n, int total) {
    Note(fmt::format("[{}/{}] {}", n, total, op.Describe()));
  };
  ao.on_note = [this](const std::string& s) { Note(s); };
  apply::Reconciler r(*machine, ao);
  apply::Outcome out = r.Apply(ap);
  if (out.status.ok()) return Status::Ok();
  std::string lines;
  for (const auto& g : out.gpus) lines += "\n  " + apply::OutcomeText(g);
  return Status::Error(
      out.status.code(), "applying the layout failed: " + out.status.message(),
      std::string(out.rolled_back ? "Rolled back. " : "") + "What each GPU holds now:" + lines);
}

// Waits until each replica is ready; a replica that fails (ready timeout,
// crash loop) is an error with its log's tail unless keep_going.
Status Service::Impl::WaitStarted(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    auto spec_it = replicas.find(id);
    serve::ProbeSpec probe = serve::ProbeFor(spec_it->second.want.spec);
    auto deadline =
        std::chrono::steady_clock::now() + serve::Millis(probe.ready_timeout_ms + 30'000);
    auto settled = [](const serve::ReplicaStatus& s) {
      return s.state == serve::State::kReady || s.state == serve::State::kCrashLooping ||
             s.ready_timed_out;
    };
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
      ok = sup->WaitFor(id, settled, serve::Millis(200));
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

void Service::Impl::Scrape() {
  if (!gw) return;
  auto res = serve::HttpGet(gw->port(), "/metrics", std::chrono::milliseconds(1000));
  if (!res.ok() || res->status != 200) return;
  std::map<std::string, uint64_t> req, err;  // by replica url
  std::istringstream in(res->body);
  std::string line;
  auto label = [](const std::string& l, const std::string& key) {
    auto p = l.find(key + "=\"");
    if (p == std::string::npos) return std::string();
    p += key.size() + 2;
    return l.substr(p, l.find('"', p) - p);
  };
  while (std::getline(in, line)) {
    bool r = line.rfind("carve_gateway_requests_total{", 0) == 0;
    bool c = line.rfind("carve_gateway_upstream_connect_failures_total{", 0) == 0;
    if (!r && !c) continue;
    uint64_t n = std::strtoull(line.substr(line.rfind(' ') + 1).c_str(), nullptr, 10);
    std::string url = label(line, "replica");
    if (r) {
      req[url] += n;
      if (std::atoi(label(line, "status").c_str()) >= 500) err[url] += n;
    } else {
      err[url] += n;
    }
  }
  auto now = std::chrono::steady_clock::now();
  double dt = std::chrono::duration<double>(now - last_scrape).count();
  for (const auto& s : sup->Snapshot()) {
    auto it = replicas.find(s.id);
    if (it == replicas.end() || s.port == 0) continue;
    std::string url = fmt::format("http://127.0.0.1:{}", s.port);
    uint64_t n = req[url];
    if (last_scrape.time_since_epoch().count() && dt > 0 && n >= it->second.requests)
      it->second.rps = (n - it->second.requests) / dt;
    it->second.requests = n;
    it->second.errors = err[url];
  }
  last_scrape = now;
  if (auto g = machine->Gpus(); g.ok()) gpus_seen = std::move(*g);
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
      if (was == serve::State::kRestarting || was == serve::State::kCrashLooping ||
          (was == serve::State::kStarting && s.restarts > 0))
        Note(fmt::format("{} is ready again on port {} (pid {}, restart #{})", s.id, s.port, s.pid,
                         s.restarts));
      break;
    default:
      break;
  }
}

void Service::Impl::Tick(bool force_write) {
  auto snap = sup->Snapshot();
  std::vector<gateway::Backend> ready;
  bool attached = false;
  for (const auto& s : snap) {
    auto it = replicas.find(s.id);
    if (it == replicas.end()) continue;
    Replica& r = it->second;
    NoteStateChange(s, r);
    if (sim && s.pid > 0 && s.pid != r.attached_pid) {
      const Slot& sl = r.want.slot;
      device::sim::SimProcess proc{static_cast<uint32_t>(s.pid),
                                   serve::EngineName(s.engine),
                                   sl.memory_mib,
                                   -1,
                                   -1,
                                   /*track=*/true};
      std::optional<int> gi, ci;
      if (sl.gi >= 0) gi = sl.gi, ci = sl.ci;
      if (r.attached_pid > 0) (void)sim->Detach(static_cast<uint32_t>(r.attached_pid));
      if (sim->Attach(sl.gpu, gi, ci, proc).ok()) r.attached_pid = s.pid, attached = true;
    }
    if (s.state == serve::State::kReady && s.port > 0)
      ready.push_back({s.model, fmt::format("http://127.0.0.1:{}", s.port),
                       std::to_string(r.want.slot.gpu),
                       fmt::format("{}@{}", r.want.slot.profile, r.want.slot.start)});
  }
  auto same = [](const gateway::Backend& a, const gateway::Backend& b) {
    return a.model == b.model && a.url == b.url;
  };
  bool changed = ready.size() != backends.size() ||
                 !std::equal(ready.begin(), ready.end(), backends.begin(), same);
  if (gw && changed && gw->UpdateBackends(ready, ModelNames()).ok()) backends = ready;
  auto now = std::chrono::steady_clock::now();
  if (now - last_scrape > std::chrono::seconds(2)) {
    Scrape();
  } else if (attached || force_write) {
    if (auto g = machine->Gpus(); g.ok())
      gpus_seen = std::move(*g);  // memory as the engines now use it
  }
  std::string text = StatusNow().dump(2) + "\n";
  // The status changes every second (its clock); write it when it changed otherwise, or each
  // second.
  if (force_write || text != last_status || now - last_write > std::chrono::seconds(1)) {
    (void)WriteFileAtomically(o.state_dir + "/status.json", text, /*durable=*/false);
    last_write = now;
  }
  last_status = text;
}

Json Service::Impl::StatusNow() {
  Json reps = Json::array();
  auto snap = sup->Snapshot();
  std::sort(snap.begin(), snap.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  for (const auto& s : snap) {
    auto it = replicas.find(s.id);
    if (it == replicas.end()) continue;
    const Replica& r = it->second;
    const Slot& sl = r.want.slot;
    uint64_t used = 0, total = 0;
    for (const auto& g : gpus_seen) {
      if (g.index != sl.gpu) continue;
      if (sl.profile == "whole") used = g.memory_used_mib, total = g.memory_total_mib;
      for (const auto& gi : g.gpu_instances)
        if (gi.id == sl.gi) used = gi.memory_used_mib, total = gi.memory_total_mib;
    }
    reps.push_back({{"id", s.id},
                    {"model", s.model},
                    {"gpu", sl.gpu},
                    {"profile", sl.profile},
                    {"start", sl.start},
                    {"uuid", s.uuid},
                    {"memory_used_mib", used},
                    {"memory_total_mib", total},
                    {"engine", serve::EngineName(s.engine)},
                    {"launcher", serve::LauncherName(r.want.spec.launcher)},
                    {"pid", s.pid},
                    {"port", s.port},
                    {"state", serve::StateName(s.state)},
                    {"restarts", s.restarts},
                    {"requests", r.requests},
                    {"requests_per_s", r.rps},
                    {"errors", r.errors},
                    {"last_exit", s.last_exit},
                    {"last_error", s.last_error},
                    {"log", s.log_path}});
  }
  std::string listen = gwcfg.listen;
  if (gw && gwcfg.listen_port == 0) listen = fmt::format("{}:{}", gwcfg.listen_host, gw->port());
  return Json{
      {"pid", ::getpid()},        {"spec", spec_path},
      {"state_dir", o.state_dir}, {"gateway", {{"listen", listen}, {"url", "http://" + listen}}},
      {"replicas", reps},         {"reload_error", reload_error}};
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
  impl->sim = dynamic_cast<device::sim::SimMachine*>(impl->machine.get());
  CARVE_ASSIGN_OR_RETURN(spec::Spec first, spec::LoadSpec(impl->spec_path));
  CARVE_ASSIGN_OR_RETURN(impl->gwcfg, GatewayConfigFor(first, impl->o.state_dir));
  impl->wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  serve::SupervisorOptions so;
  so.state_dir = impl->o.state_dir;
  so.carve_path = impl->o.carve_path;
  so.stop_grace = impl->o.stop_grace;
  so.ports = std::make_shared<serve::PortAllocator>(impl->o.port_first, impl->o.port_last);
  // Quick restarts, and a crash loop called after 5 failures in a minute; a
  // crash-looping engine is then retried once a minute (docs/up.md).
  so.restart.base = serve::Millis(250);
  so.restart.max = serve::Millis(30'000);
  so.restart.crash_loop_count = 5;
  so.restart.crash_loop_window = serve::Millis(60'000);
  so.restart.crash_loop_delay = serve::Millis(60'000);
  impl->sup = std::make_unique<serve::Supervisor>(so);
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
  auto service = std::unique_ptr<Service>(new Service(std::move(impl)));
  Status s = service->impl_->Converge(service->impl_->spec_path, /*first=*/true);
  if (!s.ok()) {
    service->Stop(std::chrono::milliseconds(0));
    return s;
  }
  return service;
}

Status Service::Reload(const std::string& spec_path) {
  Status s = impl_->Converge(fs::absolute(spec_path).string(), /*first=*/false);
  impl_->reload_error = s.ok() ? "" : s.ToString();
  impl_->Tick(true);
  return s;
}

void Service::Tick() { impl_->Tick(false); }
int Service::wake_fd() const { return impl_->wake; }
std::string Service::listen() const {
  return impl_->StatusNow()["gateway"]["listen"].get<std::string>();
}
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
    if (impl_->sim)
      for (const auto& [id, r] : impl_->replicas)
        if (r.attached_pid > 0) (void)impl_->sim->Detach(static_cast<uint32_t>(r.attached_pid));
    impl_->replicas.clear();
    impl_->sup.reset();
  }
  if (impl_->wake >= 0) ::close(impl_->wake);
  impl_->wake = -1;
  std::error_code ec;
  fs::remove(impl_->o.state_dir + "/status.json", ec);
}

// --- the state directory -------------------------------------------------

int RunningPid(const std::string& state_dir) {
  int pid = std::atoi(ReadAll(state_dir + "/up.pid").c_str());
  return Alive(pid) ? pid : 0;
}

Status RequestReload(const std::string& state_dir, const std::string& spec_path,
                     std::chrono::milliseconds timeout) {
  // One request in flight at a time: the service answers one reload.result
  // per SIGHUP, and signals that arrive together coalesce into one. Each
  // requester waits its turn here and then gets its own answer.
  CARVE_ASSIGN_OR_RETURN(FileLock turn,
                         FileLock::Acquire(state_dir + "/reload.lock", /*wait=*/true));
  int pid = RunningPid(state_dir);
  if (!pid) return Status::NotFound("carve up is not running in " + state_dir);
  std::string nonce =
      fmt::format("{}-{}", ::getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  Json req = {{"spec", fs::absolute(spec_path).string()}, {"nonce", nonce}};
  CARVE_RETURN_IF_ERROR(WriteFileAtomically(state_dir + "/reload.request", req.dump() + "\n",
                                            /*durable=*/false));
  if (::kill(pid, SIGHUP) != 0) return Errno("cannot signal carve up, pid", std::to_string(pid));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Json res = Json::parse(ReadAll(state_dir + "/reload.result"), nullptr, false);
    if (res.is_object() && res.value("nonce", "") == nonce) {
      std::string err = res.value("error", "");
      if (err.empty()) return Status::Ok();
      return Status::Error(Code::kUnknown, "the running carve up could not reload: " + err,
                           "It still serves what it served; carve status shows it.");
    }
    if (!Alive(pid))
      return Status::Error(Code::kUnknown,
                           "carve up exited while reloading; see " + state_dir + "/up.log");
    ::usleep(50'000);
  }
  return Status::Error(Code::kTimeout, "carve up did not answer the reload in time",
                       "carve status shows what it runs.");
}

Result<std::string> Down(const std::string& state_dir, std::chrono::milliseconds timeout) {
  int pid = RunningPid(state_dir);
  if (!pid) return std::string("carve up is not running (" + state_dir + ").");
  Json st = Json::parse(ReadAll(state_dir + "/status.json"), nullptr, false);
  std::vector<int> engines;
  if (st.is_object())
    for (const auto& r : st["replicas"])
      if (r.value("pid", 0) > 0) engines.push_back(r["pid"].get<int>());
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Alive(pid) && std::chrono::steady_clock::now() < deadline) ::usleep(50'000);
  if (Alive(pid))
    return Status::Error(Code::kTimeout, fmt::format("carve up (pid {}) did not stop in time", pid),
                         fmt::format("kill -9 {} stops it; its engines die with it.", pid));
  // Engines die with their supervisor (parent-death signal); make sure.
  int left = 0;
  for (int e : engines) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (Alive(e) && std::chrono::steady_clock::now() < until) ::usleep(20'000);
    if (Alive(e)) ++left, ::kill(-e, SIGKILL);
  }
  return fmt::format("Stopped carve up (pid {}) and its {} engine{}{}.", pid, engines.size(),
                     engines.size() == 1 ? "" : "s",
                     left ? fmt::format(" ({} killed by process group)", left) : "");
}

Result<Json> ReadStatus(const std::string& state_dir) {
  int pid = RunningPid(state_dir);
  if (!pid)
    return Status::NotFound("carve up is not running (state dir " + state_dir + ")",
                            "Start it: carve up SPEC --detach");
  Json st = Json::parse(ReadAll(state_dir + "/status.json"), nullptr, false);
  if (!st.is_object())
    return Status::Error(Code::kUnavailable,
                         "carve up (pid " + std::to_string(pid) + ") is starting; try again");
  return st;
}

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
  if (!st.value("reload_error", "").empty())
    out += "\nlast reload failed: " + st.value("reload_error", "") + "\n";
  return out;
}

}  // namespace carve::up
