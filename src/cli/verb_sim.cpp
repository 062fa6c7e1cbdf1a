// carve sim new|reboot|attach|detach|fault|fail|set: make and drive a simulated machine.
#include <fmt/format.h>

#include <random>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "device/sim/sim_machine.h"
#include "device/xid.h"

namespace carve::cli {
namespace {

using device::sim::SimMachine;

struct NewOpts {
  std::string file;
  std::vector<std::string> gpus;
  std::string mig = "off";
  uint64_t seed = 0;
  bool force = false;
};

Status RunNew(const NewOpts& o) {
  uint64_t seed = o.seed ? o.seed : std::random_device{}();
  CARVE_ASSIGN_OR_RETURN(auto state, device::sim::NewStateFromList(o.gpus, o.mig == "on", seed));
  CARVE_RETURN_IF_ERROR(device::sim::CreateStateFile(o.file, state, o.force));
  fmt::print("Simulated machine with {} GPU{} written to {}.\nUse it: carve --sim {} gpus\n",
             state.gpus.size(), state.gpus.size() == 1 ? "" : "s", o.file, o.file);
  return Status::Ok();
}

Result<std::unique_ptr<SimMachine>> Open(const std::string& file) { return SimMachine::Open(file); }

struct AttachOpts {
  std::string file;
  std::vector<std::string> gpu;
  std::optional<int> gi, ci;
  uint32_t pid = 0;
  std::string name = "python";
  uint64_t memory = 1024;
  bool track = false;
};

Status RunAttach(const AttachOpts& o) {
  CARVE_ASSIGN_OR_RETURN(auto m, Open(o.file));
  CARVE_ASSIGN_OR_RETURN(device::Gpu gpu, SelectOneGpu(*m, o.gpu));
  uint32_t pid = o.pid;
  if (pid == 0) {  // a made-up pid no host process has
    CARVE_ASSIGN_OR_RETURN(auto state, m->State());
    pid = 900000;
    for (const auto& g : state.gpus)
      for (const auto& p : g.processes) pid = std::max(pid, p.pid + 1);
  }
  CARVE_RETURN_IF_ERROR(
      m->Attach(gpu.index, o.gi, o.ci, {pid, o.name, o.memory, -1, -1, o.track, ""}));
  fmt::print("Process {} ({}, {} MiB) attached to GPU {}{}.\n", pid, o.name, o.memory, gpu.index,
             o.gi ? fmt::format(", GPU instance {}", *o.gi) : "");
  return Status::Ok();
}

struct FaultOpts {
  std::string file;
  std::optional<int> after, delay_ms;
  std::string error = "unknown";
  bool clear = false;
};

Status RunFault(const FaultOpts& o) {
  CARVE_ASSIGN_OR_RETURN(auto m, Open(o.file));
  if (!o.after && !o.delay_ms && !o.clear)
    return Status::InvalidArgument(
        "say which fault: --after N --error CODE, --delay-ms MS, or --clear");
  if (o.clear) {
    CARVE_RETURN_IF_ERROR(m->SetFault(0, Code::kUnknown));
    CARVE_RETURN_IF_ERROR(m->SetDelay(0));
    fmt::print("Faults cleared.\n");
  }
  if (o.after) {
    CARVE_ASSIGN_OR_RETURN(Code code, device::sim::ParseFaultCode(o.error));
    if (*o.after < 1)
      return Status::InvalidArgument("--after must be 1 or more (1 = the next call)");
    CARVE_RETURN_IF_ERROR(m->SetFault(*o.after, code));
    fmt::print("Driver call #{} from now will fail with {}.\n", *o.after, o.error);
  }
  if (o.delay_ms) {
    if (*o.delay_ms < 0) return Status::InvalidArgument("--delay-ms must be 0 or more");
    CARVE_RETURN_IF_ERROR(m->SetDelay(*o.delay_ms));
    fmt::print("Every driver call now takes {} ms more.\n", *o.delay_ms);
  }
  return Status::Ok();
}

struct FailOpts {
  std::string file;
  std::vector<std::string> gpu;
  std::optional<int> gi, xid;
  bool clear = false;
};

std::string Told(const device::sim::FailedInstance& f) {
  size_t n = f.fault_files.size();
  return n == 0 ? "no engine on it to tell"
                : fmt::format("{} engine{} on it told (a fault file beside its activity file)", n,
                              n == 1 ? "" : "s");
}

Status RunClear(SimMachine& m, std::optional<int> gpu, std::optional<int> gi) {
  if (gi && !gpu)
    return Status::InvalidArgument("--gi needs -i: a GPU instance id is per GPU",
                                   "e.g. carve sim fail FILE --clear -i 0 --gi 11");
  CARVE_ASSIGN_OR_RETURN(auto healed, m.ClearFailures(gpu, gi));
  if (healed.empty()) fmt::print("No failed GPU instance to heal.\n");
  for (const auto& h : healed)
    fmt::print("GPU {}: GPU instance {} healed (it had {}).\n", h.gpu, h.gi,
               device::XidText(h.xid));
  return Status::Ok();
}

Status RunFail(const FailOpts& o) {
  if (o.clear && o.xid)
    return Status::InvalidArgument("--xid and --clear do not go together",
                                   "Fail an instance with --xid, or heal it with --clear.");
  CARVE_ASSIGN_OR_RETURN(auto m, Open(o.file));
  std::optional<int> index;
  if (!o.gpu.empty()) {
    CARVE_ASSIGN_OR_RETURN(device::Gpu gpu, SelectOneGpu(*m, o.gpu));
    index = gpu.index;
  }
  if (o.clear) return RunClear(*m, index, o.gi);
  if (!index || !o.gi)
    return Status::InvalidArgument(
        "name the GPU instance to fail: -i GPU --gi ID",
        "e.g. carve sim fail FILE -i 0 --gi 11 (carve mig list shows the ids); --clear heals.");
  CARVE_ASSIGN_OR_RETURN(auto f, m->FailGpuInstance(*index, *o.gi, o.xid.value_or(94)));
  fmt::print("GPU {}: GPU instance {} failed: {}; {}.\n", f.gpu, f.gi, device::XidText(f.xid),
             Told(f));
  return Status::Ok();
}

struct SetOpts {
  std::string file;
  std::vector<std::string> gpu;
  std::string ecc, persistence, display_mode, timeslicing, driver;
};

std::optional<bool> OnOff(const std::string& v, const char* on) {
  if (v.empty()) return std::nullopt;
  return v == on;
}

Status RunSet(const SetOpts& o) {
  device::sim::SimSettings s;
  if (!o.driver.empty()) s.driver_version = o.driver;
  s.ecc = OnOff(o.ecc, "on");
  s.persistence_mode = OnOff(o.persistence, "on");
  s.display_mode = OnOff(o.display_mode, "display");
  if (!o.timeslicing.empty())
    s.mig_timeslicing =
        o.timeslicing == "unreported" ? std::nullopt : OnOff(o.timeslicing, "supported");
  bool per_gpu = s.ecc || s.persistence_mode || s.display_mode || s.mig_timeslicing;
  if (per_gpu && o.gpu.empty())
    return Status::InvalidArgument("name the GPU with -i",
                                   "e.g. carve sim set FILE -i 0 --ecc off");
  if (!per_gpu && !s.driver_version)
    return Status::InvalidArgument(
        "say what to set: --driver, --ecc, --persistence, --display-mode or --mig-timeslicing");
  CARVE_ASSIGN_OR_RETURN(auto m, Open(o.file));
  std::optional<int> index;
  if (!o.gpu.empty()) {
    CARVE_ASSIGN_OR_RETURN(device::Gpu gpu, SelectOneGpu(*m, o.gpu));
    index = gpu.index;
  }
  CARVE_RETURN_IF_ERROR(m->Configure(index, s));
  fmt::print("Set{}.\n", index ? fmt::format(" on GPU {}", *index) : "");
  return Status::Ok();
}

}  // namespace

void AddSim(CLI::App& app, Globals& g) {
  auto* sim = app.add_subcommand("sim", "Create and drive a simulated machine (no GPU needed)");
  sim->require_subcommand(1);

  auto n = std::make_shared<NewOpts>();
  auto* cnew = sim->add_subcommand("new", "Write a new simulated machine to FILE");
  cnew->add_option("file", n->file, "State file to create")->required();
  cnew->add_option("gpus", n->gpus,
                   "GPU[:COUNT]..., e.g. h100-80gb:2 a30 (see carve catalog); a product name or "
                   "PCI id picks that edition, e.g. 0x2BB110DE (RTX PRO 6000 Workstation)")
      ->required();
  cnew->add_option("--mig", n->mig, "Start with MIG on or off")
      ->check(CLI::IsMember({"on", "off"}));
  cnew->add_option("--seed", n->seed, "Seed for UUIDs (same seed, same UUIDs)");
  cnew->add_flag("--force", n->force, "Replace FILE if it exists");
  cnew->callback(Body(g, [n] { return RunNew(*n); }));

  auto file = std::make_shared<std::string>();
  auto* reboot = sim->add_subcommand("reboot",
                                     "Reboot: processes and slices are gone; Ampere keeps "
                                     "its MIG mode, Hopper and later lose it");
  reboot->add_option("file", *file, "State file")->required();
  reboot->callback(Body(g, [file] {
    CARVE_ASSIGN_OR_RETURN(auto m, Open(*file));
    CARVE_RETURN_IF_ERROR(m->Reboot());
    fmt::print("Rebooted {}.\n", *file);
    return Status::Ok();
  }));

  auto a = std::make_shared<AttachOpts>();
  auto* attach = sim->add_subcommand("attach", "Attach a simulated process to a GPU or slice");
  attach->add_option("file", a->file, "State file")->required();
  AddGpuOption(attach, a->gpu, "GPU");
  attach->get_option("-i")->required();
  attach->add_option("--gi", a->gi, "GPU instance (when MIG is on)");
  attach->add_option("--ci", a->ci, "Compute instance (default: the first)");
  attach->add_option("--pid", a->pid, "Process id (default: a made-up one)");
  attach->add_option("--name", a->name, "Process name");
  attach->add_option("--memory", a->memory, "Memory it uses, MiB");
  attach->add_flag("--track", a->track, "PID is a real process: forget it once it exits");
  attach->callback(Body(g, [a] { return RunAttach(*a); }));

  auto d = std::make_shared<std::pair<std::string, uint32_t>>();
  auto* detach = sim->add_subcommand("detach", "Detach a simulated process");
  detach->add_option("file", d->first, "State file")->required();
  detach->add_option("--pid", d->second, "Process id")->required();
  detach->callback(Body(g, [d] {
    CARVE_ASSIGN_OR_RETURN(auto m, Open(d->first));
    CARVE_RETURN_IF_ERROR(m->Detach(d->second));
    fmt::print("Process {} detached.\n", d->second);
    return Status::Ok();
  }));

  auto f = std::make_shared<FaultOpts>();
  auto* fault = sim->add_subcommand("fault", "Make a driver call fail, or every call slow");
  fault->add_option("file", f->file, "State file")->required();
  fault->add_option("--after", f->after, "Fail the Nth driver call from now (1 = the next)");
  fault->add_option("--error", f->error, "Code: " + device::sim::FaultCodeNames());
  fault->add_option("--delay-ms", f->delay_ms, "Add MS to every driver call");
  fault->add_flag("--clear", f->clear, "Remove every fault and delay");
  fault->callback(Body(g, [f] { return RunFault(*f); }));

  auto fo = std::make_shared<FailOpts>();
  auto* fail = sim->add_subcommand(
      "fail",
      "Fail a GPU instance as the driver reports it (an Xid): carve gpus shows it, NVML "
      "sends an Xid event, engines on it fail; --clear heals");
  fail->add_option("file", fo->file, "State file")->required();
  AddGpuOption(fail, fo->gpu, "GPU");
  fail->add_option("--gi", fo->gi, "GPU instance id (carve mig list)");
  fail->add_option("--xid", fo->xid, "Xid to report (default 94): " + device::KnownXidList());
  fail->add_flag("--clear", fo->clear,
                 "Heal instead: every failed instance, those of -i GPU, or --gi ID of it");
  fail->callback(Body(g, [fo] { return RunFail(*fo); }));

  auto so = std::make_shared<SetOpts>();
  auto* set = sim->add_subcommand("set",
                                  "Set what carve doctor checks: driver, ECC, persistence, "
                                  "display mode, MIG time-slicing");
  set->add_option("file", so->file, "State file")->required();
  AddGpuOption(set, so->gpu, "GPU");
  set->add_option("--driver", so->driver, "Driver version the machine reports, e.g. 550.54.15");
  set->add_option("--ecc", so->ecc,
                  "ECC after the next reset or reboot (pending, like nvidia-smi -e)")
      ->check(CLI::IsMember({"on", "off"}));
  set->add_option("--persistence", so->persistence, "Persistence mode")
      ->check(CLI::IsMember({"on", "off"}));
  set->add_option(
         "--display-mode", so->display_mode,
         "A Workstation edition's mode (compute: what DisplayModeSelector and a reboot do)")
      ->check(CLI::IsMember({"display", "compute"}));
  set->add_option("--mig-timeslicing", so->timeslicing, "What the driver reports")
      ->check(CLI::IsMember({"supported", "unsupported", "unreported"}));
  set->callback(Body(g, [so] { return RunSet(*so); }));
}

}  // namespace carve::cli
