// The service's changes to the machine: the preflight of engines to start and
// the apply of a plan's layout (carve apply's journaled reconciler).
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "apply/changes.h"
#include "apply/reconcile.h"
#include "serve/preflight.h"
#include "up/service_impl.h"
#include "util/file_lock.h"

namespace carve::up {

namespace fs = std::filesystem;

namespace {

// Processes other than `ours` on slices the change destroys (or GPUs whose mode it changes).
std::vector<std::string> ForeignUsers(const apply::Changes& ap, const std::set<uint32_t>& ours) {
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
  return foreign;
}

Status ForeignRefusal(const std::vector<std::string>& foreign) {
  std::string list;
  for (const auto& f : foreign) list += "\n  " + f;
  return Status::InUse(
      fmt::format("the plan must change slices that processes other than carve's engines use:{}",
                  list),
      "Stop them first (carve apply --force can), or change the spec so the plan keeps those "
      "slices. Nothing was changed.");
}

Status OutcomeError(const apply::Outcome& out) {
  std::string lines;
  for (const auto& g : out.gpus) lines += "\n  " + apply::OutcomeText(g);
  return Status::Error(
      out.status.code(), "applying the layout failed: " + out.status.message(),
      std::string(out.rolled_back ? "Rolled back. " : "") + "What each GPU holds now:" + lines);
}

}  // namespace

// Whether the engines to start can start (serve/preflight.h), each as its
// slice's kind of device: a MIG UUID, or a whole GPU's.
Status Service::Impl::Preflight(const std::vector<WantedReplica>& add) const {
  std::vector<serve::ReplicaSpec> specs;
  for (const auto& w : add) {
    serve::ReplicaSpec s = w.spec;
    s.id = w.model;
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

Status Service::Impl::ApplyLayout(const apply::Layouts& layouts,
                                  const std::set<std::string>& going) {
  CARVE_ASSIGN_OR_RETURN(auto gpus, machine->Gpus());
  CARVE_ASSIGN_OR_RETURN(apply::Changes ap, apply::MakeChanges(gpus, layouts, false));
  if (auto foreign = ForeignUsers(ap, EnginePids()); !foreign.empty())
    return ForeignRefusal(foreign);
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
  return OutcomeError(out);
}

}  // namespace carve::up
