#include "device/sim/sim_machine.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include "device/refusals.h"
#include "device/sim/sim_ops.h"
#include "util/activity_file.h"

namespace carve::device::sim {
namespace {

// Tracked processes are real host processes; the simulator forgets them once
// they have exited, as the driver does.
void ForgetExited(SimState& s) {
  for (auto& g : s.gpus)
    std::erase_if(g.processes, [](const SimProcess& p) {
      return p.track && ::kill(static_cast<pid_t>(p.pid), 0) != 0 && errno == ESRCH;
    });
}

}  // namespace

Result<SimState> NewState(const std::vector<const mig::GpuModel*>& gpus, bool mig_on,
                          uint64_t seed) {
  SimState s;
  s.seed = seed;
  for (size_t i = 0; i < gpus.size(); ++i) {
    SimGpu g;
    g.model = gpus[i]->alias;
    g.pci_device_id = gpus[i]->products.front().pci_device_id;
    g.uuid = s.NewUuid("GPU-");
    g.serial = fmt::format("{:013d}", 1650000000000ull + seed % 100000 * 100 + i);
    g.pci_bus_id = fmt::format("00000000:{:02X}:00.0", 0x18 + 0x10 * static_cast<int>(i));
    g.mig.current = g.mig.pending = mig_on && gpus[i]->mig;
    s.gpus.push_back(std::move(g));
  }
  return s;
}

Result<SimState> NewStateFromList(const std::vector<std::string>& items, bool mig_on,
                                  uint64_t seed) {
  const auto& catalog = mig::Catalog::Builtin();
  std::vector<const mig::GpuModel*> models;
  std::vector<const mig::Product*> products;  // the one named, else nullptr: the model's first
  for (const auto& item : items) {
    std::string alias = item;
    int count = 1;
    if (size_t colon = item.rfind(':'); colon != std::string::npos) {
      alias = item.substr(0, colon);
      auto digits = std::string_view(item).substr(colon + 1);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
      if (ec != std::errc() || end != digits.data() + digits.size() || count < 1 || count > 64)
        return Status::InvalidArgument(fmt::format("'{}': COUNT must be 1–64", item),
                                       "Write GPU[:COUNT], e.g. h100-80gb:8.");
    }
    CARVE_ASSIGN_OR_RETURN(const mig::GpuModel* m, catalog.Lookup(alias));
    models.insert(models.end(), count, m);
    products.insert(products.end(), count, catalog.FindProduct(alias));
  }
  CARVE_ASSIGN_OR_RETURN(SimState state, NewState(models, mig_on, seed));
  for (size_t i = 0; i < products.size(); ++i) {
    if (!products[i]) continue;
    auto& g = state.gpus[i];
    g.pci_device_id = products[i]->pci_device_id;
    g.display_mode = products[i]->display_mode;  // as it ships
    if (g.display_mode) g.mig = {};
  }
  return state;
}

std::unique_ptr<SimMachine> SimMachine::InMemory(SimState state) {
  std::unique_ptr<SimMachine> m(new SimMachine(""));
  m->memory_ = std::move(state);
  return m;
}

Result<std::unique_ptr<SimMachine>> SimMachine::Open(std::string path) {
  std::unique_ptr<SimMachine> m(new SimMachine(std::move(path)));
  CARVE_RETURN_IF_ERROR(m->Transact(Kind::kRead, [](SimState&) { return Status::Ok(); }));
  return m;
}

Status SimMachine::Transact(Kind kind, const std::function<Status(SimState&)>& fn) {
  auto run = [&](SimState& state, bool* write) -> Status {
    ForgetExited(state);
    if (kind == Kind::kRead) return fn(state);
    if (kind == Kind::kDriverCall) {
      if (state.faults.delay_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(state.faults.delay_ms));
      if (state.faults.fail_after > 0 && --state.faults.fail_after == 0) {
        *write = true;
        return Status::Error(state.faults.error,
                             fmt::format("injected fault: this driver call fails with {}",
                                         CodeName(state.faults.error)),
                             "Set by `carve sim fault`; it fires once.");
      }
    }
    SimState next = state;  // a refused call leaves the state as it was
    Status st = fn(next);
    if (st.ok()) state = std::move(next);
    *write = st.ok() || kind == Kind::kDriverCall;
    return st;
  };
  if (path_.empty()) {
    bool write = false;
    return run(memory_, &write);
  }
  return WithStateFile(path_, run);
}

std::string SimMachine::ChangeLockPath() const {
  return path_.empty() ? std::string() : path_ + ".changes.lock";
}

Result<DriverInfo> SimMachine::Driver() {
  DriverInfo info;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kRead, [&](SimState& s) {
    info = {"sim", s.driver_version, "13." + s.driver_version, "13.0"};
    return Status::Ok();
  }));
  return info;
}

Result<std::vector<Gpu>> SimMachine::Gpus() {
  std::vector<Gpu> out;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kRead, [&](SimState& s) {
    for (size_t i = 0; i < s.gpus.size(); ++i) {
      CARVE_ASSIGN_OR_RETURN(Gpu g, Snapshot(s.gpus[i], static_cast<int>(i)));
      out.push_back(std::move(g));
    }
    return Status::Ok();
  }));
  return out;
}

Result<Gpu> SimMachine::GetGpu(int index) {
  Gpu out;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kRead, [&](SimState& s) {
    CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, index));
    CARVE_ASSIGN_OR_RETURN(out, Snapshot(*g, index));
    return Status::Ok();
  }));
  return out;
}

Result<ModeChange> SimMachine::SetMigMode(int gpu, bool enabled) {
  ModeChange out;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kDriverCall, [&](SimState& s) {
    CARVE_ASSIGN_OR_RETURN(out, DoSetMigMode(s, gpu, enabled));
    return Status::Ok();
  }));
  return out;
}

Status SimMachine::ResetGpu(int gpu) {
  std::vector<std::string> gone;  // a reset heals failed instances: it destroys them
  Status st = Transact(Kind::kDriverCall, [&](SimState& s) {
    if (gpu >= 0 && gpu < static_cast<int>(s.gpus.size()))
      gone = FaultFilesOf(s.gpus[gpu], std::nullopt);
    return DoResetGpu(s, gpu);
  });
  if (st.ok()) RemoveFaultFiles(gone);
  return st;
}

Result<GpuInstance> SimMachine::CreateGpuInstance(int gpu, int profile_id,
                                                  std::optional<int> start) {
  GpuInstance out;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kDriverCall, [&](SimState& s) {
    CARVE_ASSIGN_OR_RETURN(out, DoCreateGpuInstance(s, gpu, profile_id, start));
    return Status::Ok();
  }));
  return out;
}

Status SimMachine::DestroyGpuInstance(int gpu, int gi) {
  std::vector<std::string> gone;  // its fault, if it had one, goes with it
  Status st = Transact(Kind::kDriverCall, [&](SimState& s) {
    if (gpu >= 0 && gpu < static_cast<int>(s.gpus.size())) gone = FaultFilesOf(s.gpus[gpu], gi);
    return DoDestroyGpuInstance(s, gpu, gi);
  });
  if (st.ok()) RemoveFaultFiles(gone);
  return st;
}

Result<ComputeInstance> SimMachine::CreateComputeInstance(int gpu, int gi, int ci_profile_id,
                                                          std::optional<int> start) {
  ComputeInstance out;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kDriverCall, [&](SimState& s) {
    CARVE_ASSIGN_OR_RETURN(out, DoCreateComputeInstance(s, gpu, gi, ci_profile_id, start));
    return Status::Ok();
  }));
  return out;
}

Status SimMachine::DestroyComputeInstance(int gpu, int gi, int ci) {
  return Transact(Kind::kDriverCall,
                  [&](SimState& s) { return DoDestroyComputeInstance(s, gpu, gi, ci); });
}

Status SimMachine::StopProcess(int gpu, uint32_t pid, int grace_ms) {
  return Transact(Kind::kControl, [&](SimState& s) -> Status {
    CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
    auto it = std::find_if(g->processes.begin(), g->processes.end(),
                           [&](const SimProcess& p) { return p.pid == pid; });
    if (it == g->processes.end()) {
      RefusalFacts f;
      f.gpu = gpu;
      f.id = pid;
      return Refuse(Refusal::kNoProcess, f);
    }
    if (it->track) {  // a real process: stop it for real
      ::kill(static_cast<pid_t>(pid), SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
      while (::kill(static_cast<pid_t>(pid), 0) == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
    g->processes.erase(it);
    return Status::Ok();
  });
}

Status SimMachine::Reboot() {
  std::vector<std::string> gone;  // fault files of failed instances, which a reboot heals
  Status st = Transact(Kind::kControl, [&](SimState& s) {
    for (auto& g : s.gpus) {
      for (auto& file : FaultFilesOf(g, std::nullopt)) gone.push_back(std::move(file));
      g.processes.clear();
      g.gis.clear();
      g.ecc.current = g.ecc.pending;
      const mig::GpuModel* m = mig::Catalog::Builtin().Find(g.model);
      if (m && mig::ModeSurvivesReboot(m->arch)) {
        g.mig.current = g.mig.pending;
      } else {
        g.mig = MigMode{};
      }
    }
    ++s.boots;
    return Status::Ok();
  });
  if (st.ok()) RemoveFaultFiles(gone);
  return st;
}

Status SimMachine::Attach(int gpu, std::optional<int> gi, std::optional<int> ci, SimProcess p) {
  int failed_xid = 0;
  std::vector<std::string> devices;
  Status st = Transact(Kind::kControl, [&](SimState& s) -> Status {
    for (const auto& g : s.gpus)
      for (const auto& q : g.processes)
        if (q.pid == p.pid)
          return Status::Error(Code::kAlreadyExists,
                               fmt::format("process {} is already attached", p.pid));
    CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
    CARVE_ASSIGN_OR_RETURN(Gpu snap, Snapshot(*g, gpu));
    uint64_t total = snap.memory_total_mib, used = snap.memory_used_mib;
    if (g->mig.current) {
      if (!gi)
        return Status::InvalidArgument(fmt::format("MIG is on on GPU {}: name a GPU instance", gpu),
                                       "Pass --gi ID (see carve mig list).");
      auto it = std::find_if(snap.gpu_instances.begin(), snap.gpu_instances.end(),
                             [&](auto& x) { return x.id == *gi; });
      if (it == snap.gpu_instances.end())
        return Status::NotFound(fmt::format("GPU {} has no GPU instance {}", gpu, *gi));
      if (it->compute_instances.empty())
        return Status::InvalidArgument(
            fmt::format("GPU instance {} has no compute instance to run on", *gi),
            fmt::format("Create one: carve mig create-ci -i {} --gi {}", gpu, *gi));
      int target = ci.value_or(it->compute_instances.front().id);
      if (std::none_of(it->compute_instances.begin(), it->compute_instances.end(),
                       [&](auto& c) { return c.id == target; }))
        return Status::NotFound(
            fmt::format("GPU instance {} has no compute instance {}", *gi, target));
      p.gi = *gi;
      p.ci = target;
      total = it->memory_total_mib;
      used = it->memory_used_mib;
    } else if (gi) {
      return Status::InvalidArgument(
          fmt::format("MIG is off on GPU {}: it has no GPU instances", gpu));
    }
    if (used + p.memory_mib > total)
      return Status::Insufficient(
          fmt::format("out of memory: {} MiB asked, {} MiB free", p.memory_mib, total - used));
    g->processes.push_back(p);
    for (auto& x : g->gis)
      if (x.id == p.gi && x.xid != 0 && AddFaultFile(x, p.activity))
        failed_xid = x.xid, devices = DevicesOf(x);
    return Status::Ok();
  });
  // A process put on a failed instance fails too (an engine restarted there).
  if (st.ok() && failed_xid != 0)
    return WriteFaultFiles({FaultFileBeside(p.activity)}, failed_xid, devices);
  return st;
}

Status SimMachine::Configure(std::optional<int> gpu, const SimSettings& set) {
  return Transact(Kind::kControl, [&](SimState& s) -> Status {
    if (set.driver_version) s.driver_version = *set.driver_version;
    if (gpu) {
      CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, *gpu));
      if (set.ecc) g->ecc.pending = *set.ecc;
      if (set.persistence_mode) g->persistence_mode = *set.persistence_mode;
      if (set.display_mode.value_or(false) && (g->mig.current || g->mig.pending))
        return Status::InvalidArgument(
            fmt::format("GPU {}: MIG is on, and a card in display mode has no MIG", *gpu),
            fmt::format("Turn it off first: carve mig disable -i {}", *gpu));
      if (set.display_mode) g->display_mode = *set.display_mode;
      if (set.mig_timeslicing) g->mig_timeslicing = *set.mig_timeslicing;
    }
    return CheckState(s);
  });
}

Status SimMachine::Detach(uint32_t pid) {
  return Transact(Kind::kControl, [&](SimState& s) -> Status {
    for (auto& g : s.gpus)
      if (std::erase_if(g.processes, [&](const SimProcess& p) { return p.pid == pid; }))
        return Status::Ok();
    return Status::NotFound(fmt::format("no simulated process {}", pid));
  });
}

Status SimMachine::NoteProcess(int gpu, const Process& p) {
  std::optional<int> gi, ci;
  if (p.gi >= 0) gi = p.gi;
  if (p.ci >= 0) ci = p.ci;
  return Attach(gpu, gi, ci,
                SimProcess{p.pid, p.name, p.memory_mib, -1, -1, /*track=*/true, p.activity_file});
}

Status SimMachine::ForgetProcess(uint32_t pid) {
  Status s = Detach(pid);
  return s.code() == Code::kNotFound ? Status::Ok() : s;
}

Status SimMachine::SetFault(int fail_after, Code error) {
  return Transact(Kind::kControl, [&](SimState& s) {
    if (fail_after > 0 && s.faults.fail_after > 0)
      return Status::Error(
          Code::kAlreadyExists,
          fmt::format("a fault is already pending: driver call #{} from now fails with {}",
                      s.faults.fail_after, FaultCodeName(s.faults.error)),
          "One fault at a time: pass --clear with --after to replace it, or clear it first "
          "(carve sim fault FILE --clear).");
    s.faults.fail_after = fail_after;
    s.faults.error = error;
    return Status::Ok();
  });
}

Status SimMachine::SetDelay(int delay_ms) {
  return Transact(Kind::kControl, [&](SimState& s) {
    s.faults.delay_ms = delay_ms;
    return Status::Ok();
  });
}

Result<SimState> SimMachine::State() {
  SimState out;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kRead, [&](SimState& s) {
    out = s;
    return Status::Ok();
  }));
  return out;
}

}  // namespace carve::device::sim
