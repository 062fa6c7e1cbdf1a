#include "apply/reconcile.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "util/utc.h"

namespace carve::apply {
namespace {

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

std::string Using(const std::vector<device::Process>& procs) {
  std::vector<std::string> parts;
  for (const auto& p : procs) parts.push_back(ProcessText(p));
  return Join(parts, ", ") + (procs.size() == 1 ? " is using it" : " are using it");
}

const GpuLayout* Find(const Layouts& ls, int gpu) {
  auto it = std::find_if(ls.begin(), ls.end(), [&](auto& l) { return l.gpu == gpu; });
  return it == ls.end() ? nullptr : &*it;
}

bool Holds(const device::Gpu& g, const GpuLayout* l) {
  if (!l) return false;
  auto d = DiffGpu(g, *l);
  return d.ok() && d->empty();
}

}  // namespace

Status InUseRefusal(const Changes& plan) {
  std::vector<std::string> lines;
  for (const auto& d : plan.gpus) {
    for (const auto& c : d.destroy)
      if (!c.processes.empty())
        lines.push_back(fmt::format("cannot destroy {} on GPU {} ({}): {}", c.spec.Name(),
                                    d.before.index, c.why, Using(c.processes)));
    if (!d.mode_blockers.empty())
      lines.push_back(fmt::format("cannot turn MIG {} on GPU {}: {}", d.after.mig ? "on" : "off",
                                  d.before.index, Using(d.mode_blockers)));
  }
  return Status::InUse(
      Join(lines, ".\n       ") + ".",
      "Stop it first, or rerun with --force to stop it for you. Nothing was changed.");
}

std::string OutcomeText(const GpuOutcome& g) {
  switch (g.held) {
    case Held::kTarget:
      return fmt::format("GPU {} holds its target: {}", g.gpu, g.holds);
    case Held::kBefore:
      return fmt::format("GPU {} holds its pre-apply layout: {}", g.gpu, g.holds);
    case Held::kOther:
      break;
  }
  return fmt::format(
      "GPU {} holds neither its target nor its pre-apply layout: {} (see carve mig list -i {})",
      g.gpu, g.holds, g.gpu);
}

Status Reconciler::Save(const Journal& j) {
  return o_.state_dir.empty() ? Status::Ok() : WriteJournal(o_.state_dir, j);
}

Outcome Reconciler::Apply(const Changes& plan) {
  if (plan.in_use() && !o_.force) return Outcome{.status = InUseRefusal(plan)};
  Journal j;
  j.force = o_.force;
  j.pid = static_cast<int>(::getpid());
  j.started = UtcNow();
  j.before = plan.Before();
  j.target = plan.After();
  return Run(plan, j.before, j);
}

Outcome Reconciler::Run(const Changes& plan, const Layouts& before, Journal j) {
  Outcome out;
  j.ops.clear();
  for (const auto& op : plan.ops) j.ops.push_back(op.Describe());
  j.done = 0;
  Status st = plan.empty() ? Status::Ok() : Save(j);
  if (!st.ok()) return Outcome{.status = st};  // nothing was changed yet
  st = RunOps(plan, plan.empty() ? nullptr : &j, out);
  if (st.ok()) st = Verify(j.target);
  if (st.ok()) {
    out.status = o_.state_dir.empty() ? Status::Ok() : RemoveJournal(o_.state_dir);
  } else {
    out.status = st;
    RollBack(before, &j, out);
  }
  Classify(before, j.target, out);
  return out;
}

Status Reconciler::RunOps(const Changes& plan, Journal* j, Outcome& out) {
  int total = static_cast<int>(plan.ops.size());
  for (int i = 0; i < total; ++i) {
    const Op& op = plan.ops[i];
    if (o_.on_op) o_.on_op(op, i + 1, total);
    Status st = RunOp(op, out.stopped);
    if (!st.ok())
      return st.Prefixed(fmt::format("operation {} of {} ({})", i + 1, total, op.Describe()));
    ++out.ops_done;
    if (o_.crash_after_op > 0 && ++ops_run_ == o_.crash_after_op) ::raise(SIGKILL);
    if (j) {
      j->done = i + 1;
      CARVE_RETURN_IF_ERROR(Save(*j));
    }
  }
  return Status::Ok();
}

Status Reconciler::RunOp(const Op& op, std::vector<device::Process>& stopped) {
  switch (op.kind) {
    case OpKind::kStopProcess:
      CARVE_RETURN_IF_ERROR(m_.StopProcess(op.gpu, op.process.pid, 5000));
      stopped.push_back(op.process);
      return Status::Ok();
    case OpKind::kDestroyCi:
      return m_.DestroyComputeInstance(op.gpu, op.gi, op.ci);
    case OpKind::kDestroyGi:
      return m_.DestroyGpuInstance(op.gpu, op.gi);
    case OpKind::kSetMigMode: {
      CARVE_ASSIGN_OR_RETURN(device::ModeChange ch, m_.SetMigMode(op.gpu, op.enable));
      if (ch.mode.current == op.enable) return Status::Ok();
      if (!op.reset)
        return ch.activation.ok()
                   ? Status::Error(Code::kResetRequired, "the mode change is pending")
                   : ch.activation;
      Status r = m_.ResetGpu(op.gpu);  // Ampere: this GPU only
      return r.ok() ? r : r.Prefixed(fmt::format("resetting GPU {} to apply the MIG mode", op.gpu));
    }
    case OpKind::kCreateGi:
      return m_.CreateGpuInstance(op.gpu, op.slice.profile->id, op.slice.start).status();
    case OpKind::kCreateCi: {
      CARVE_ASSIGN_OR_RETURN(device::Gpu g, m_.GetGpu(op.gpu));
      for (const auto& gi : g.gpu_instances)
        if (gi.placement.start == *op.slice.start && gi.profile_id == op.slice.profile->id)
          return m_.CreateComputeInstance(op.gpu, gi.id, op.ci_profile->id, std::nullopt).status();
      return Status::NotFound(fmt::format("GPU {} has no {} GPU instance at {}", op.gpu,
                                          op.slice.profile->name, *op.slice.start));
    }
  }
  return Status::Internal("unknown operation");
}

Status Reconciler::Verify(const Layouts& want) {
  for (const auto& l : want) {
    CARVE_ASSIGN_OR_RETURN(device::Gpu g, m_.GetGpu(l.gpu));
    if (!Holds(g, &l))
      return Status::Internal(fmt::format("verification failed: GPU {} holds {} but should hold {}",
                                          l.gpu, Describe(LayoutOf(g)), Describe(l)));
  }
  return Status::Ok();
}

void Reconciler::RollBack(const Layouts& before, Journal* j, Outcome& out) {
  Note("rolling back: restoring the pre-apply layout of each GPU");
  j->phase = "rollback";
  auto gpus = m_.Gpus();
  if (!gpus.ok()) return Note("cannot read the GPUs to roll back: " + gpus.status().message());
  auto plan = MakeChanges(*gpus, before, /*force=*/false);  // a rollback never stops processes
  if (!plan.ok()) return Note("cannot roll back: " + plan.status().message());
  j->ops.clear();
  for (const auto& op : plan->ops) j->ops.push_back(op.Describe());
  j->done = 0;
  (void)Save(*j);
  std::vector<int> failed_gpus;
  for (const auto& op : plan->ops) {
    if (std::count(failed_gpus.begin(), failed_gpus.end(), op.gpu)) continue;
    if (o_.on_op) o_.on_op(op, j->done + 1, static_cast<int>(plan->ops.size()));
    Status st = RunOp(op, out.stopped);
    if (o_.crash_after_op > 0 && ++ops_run_ == o_.crash_after_op) ::raise(SIGKILL);
    if (!st.ok()) {
      Note(fmt::format("could not undo on GPU {}: {}", op.gpu, st.message()));
      failed_gpus.push_back(op.gpu);
    }
    ++j->done;
    (void)Save(*j);
  }
  if (Verify(before).ok()) {
    out.rolled_back = true;
    if (!o_.state_dir.empty()) (void)RemoveJournal(o_.state_dir);
  }
}

void Reconciler::Classify(const Layouts& before, const Layouts& target, Outcome& out) {
  out.gpus.clear();
  for (const auto& t : target) {
    auto g = m_.GetGpu(t.gpu);
    if (!g.ok()) {
      out.gpus.push_back({t.gpu, Held::kOther, "unknown: " + g.status().message()});
      continue;
    }
    Held held = Holds(*g, &t)                    ? Held::kTarget
                : Holds(*g, Find(before, t.gpu)) ? Held::kBefore
                                                 : Held::kOther;
    out.gpus.push_back({t.gpu, held, Describe(LayoutOf(*g))});
  }
}

Result<std::optional<Outcome>> Reconciler::Recover() {
  if (o_.state_dir.empty()) return std::optional<Outcome>();
  CARVE_ASSIGN_OR_RETURN(std::optional<Journal> j, ReadJournal(o_.state_dir));
  if (!j) return std::optional<Outcome>();
  bool forward = j->phase == "forward";
  // The journal is written after each operation, so the one after `done`
  // may or may not have happened; the re-diff below does not care.
  std::string where = j->done < int(j->ops.size())
                          ? fmt::format("during operation {} of {}", j->done + 1, j->ops.size())
                          : fmt::format("after the last of {} operations", j->ops.size());
  Note(fmt::format("an earlier apply (pid {}, started {}) was interrupted {} of its {}; {}", j->pid,
                   j->started, where, forward ? "change" : "rollback",
                   forward ? "finishing it" : "finishing the rollback"));
  CARVE_ASSIGN_OR_RETURN(auto gpus, m_.Gpus());
  if (forward) {
    auto plan = MakeChanges(gpus, j->target, j->force);
    if (plan.ok() && (!plan->in_use() || j->force))
      return std::optional<Outcome>(Run(*plan, j->before, *j));
    Note("cannot finish it (" + (plan.ok() ? InUseRefusal(*plan) : plan.status()).message() +
         "); rolling it back instead");
  }
  Outcome out;
  RollBack(j->before, &*j, out);
  out.status = out.rolled_back
                   ? Status::Ok()
                   : Status::Error(Code::kInUse, "the interrupted apply could not be rolled back",
                                   "See what each GPU holds below; stop what uses them and rerun.");
  Classify(j->before, j->target, out);
  return std::optional<Outcome>(out);
}

}  // namespace carve::apply
