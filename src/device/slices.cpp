#include "device/slices.h"

#include <fmt/format.h>

#include <algorithm>

namespace carve::device {
namespace {

std::string SliceText(const GpuInstance& gi) {
  return fmt::format("{}@{} (GI {})", gi.profile, gi.placement.start, gi.id);
}

// Destroys what a failed create made, newest first; returns what it could not.
std::vector<std::string> Undo(Machine& m, int gpu, const std::vector<CreatedSlice>& made) {
  std::vector<std::string> left;
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    bool ok = true;
    for (const auto& ci : it->gi.compute_instances)
      ok = m.DestroyComputeInstance(gpu, it->gi.id, ci.id).ok() && ok;
    if (!ok || !m.DestroyGpuInstance(gpu, it->gi.id).ok()) left.push_back(SliceText(it->gi));
  }
  return left;
}

Status Failed(const Status& why, const std::vector<std::string>& left, int gpu) {
  if (left.empty())
    return why.WithHint(why.hint().empty() ? "Nothing was changed."
                                           : why.hint() + "\nNothing was changed.");
  std::string l;
  for (const auto& s : left) l += (l.empty() ? "" : ", ") + s;
  return Status::Error(
      why.code(), why.message(),
      fmt::format("Undoing failed too: GPU {} still holds {}. See carve mig list -i {}.", gpu, l,
                  gpu));
}

// What a destroy removes: a whole slice (`ci` null) or one compute instance.
struct Target {
  const GpuInstance* gi;
  const ComputeInstance* ci;
};

std::string TargetText(const Target& t) {
  if (!t.ci) return SliceText(*t.gi);
  return fmt::format("CI {} ({}) in {}", t.ci->id, t.ci->profile, SliceText(*t.gi));
}

bool Uses(const Process& p, const Target& t) {
  return p.gi == t.gi->id && (!t.ci || p.ci == t.ci->id);
}

Result<const GpuInstance*> FindGi(const Gpu& gpu, int id) {
  for (const auto& gi : gpu.gpu_instances)
    if (gi.id == id) return &gi;
  return Status::NotFound(fmt::format("GPU {} has no GPU instance {}", gpu.index, id),
                          fmt::format("See them: carve mig list -i {}", gpu.index));
}

Result<const ComputeInstance*> FindCi(const Gpu& gpu, const GpuInstance& gi, int id) {
  for (const auto& ci : gi.compute_instances)
    if (ci.id == id) return &ci;
  return Status::NotFound(
      fmt::format("GPU {}: GPU instance {} has no compute instance {}", gpu.index, gi.id, id),
      fmt::format("See them: carve mig list -i {} --gi {}", gpu.index, gi.id));
}

// Refuses (kInUse, nothing changed) when a process uses a target, unless
// `force`: then stops those processes and records them in `report`.
Status StopUsers(Machine& m, const Gpu& gpu, const std::vector<Target>& targets, bool force,
                 DestroyReport& report) {
  std::string busy;
  for (const auto& p : gpu.processes)
    for (const auto& t : targets)
      if (Uses(p, t)) {
        busy += fmt::format("{}process {} ({}, {:.1f} GiB) on {}", busy.empty() ? "" : "; ", p.pid,
                            p.name, p.memory_mib / 1024.0, TargetText(t));
        report.stopped.push_back(p);
        break;
      }
  if (!busy.empty() && !force)
    return Status::InUse(
        fmt::format("cannot destroy on GPU {}: {}", gpu.index, busy),
        "Stop it first, or rerun with --force to stop it for you. Nothing was changed.");
  for (const auto& p : report.stopped) CARVE_RETURN_IF_ERROR(m.StopProcess(gpu.index, p.pid, 5000));
  return Status::Ok();
}

// A destroy that failed part-way: what failed, what was already destroyed.
Status Partial(const Status& why, const Target& t, const Gpu& gpu, const DestroyReport& report) {
  std::string done;
  for (const auto& d : report.destroyed) done += (done.empty() ? "" : ", ") + d;
  return Status::Error(
      why.code(), fmt::format("destroying {}: {}", TargetText(t), why.message()),
      fmt::format("{}See what GPU {} holds now: carve mig list -i {}",
                  done.empty() ? "" : "Already destroyed: " + done + ". ", gpu.index, gpu.index));
}

}  // namespace

std::vector<mig::Slice> SlicesOf(const Gpu& gpu) {
  std::vector<mig::Slice> out;
  if (!gpu.model) return out;
  for (const auto& gi : gpu.gpu_instances)
    if (const mig::Profile* p = gpu.model->FindProfileById(gi.profile_id))
      out.push_back(mig::Slice{p, gi.placement.start, gi.id});
  return out;
}

Result<std::vector<CreatedSlice>> CreateSlices(
    Machine& m, const Gpu& gpu, std::span<const mig::SliceRequest> requests, bool gi_only,
    const std::function<void(const CreatedSlice&)>& progress) {
  if (!gpu.model)
    return Status::NotSupported(
        fmt::format("GPU {} ({}) is not in carve's catalogue", gpu.index, gpu.name));
  auto existing = SlicesOf(gpu);
  auto placed = mig::Place(*gpu.model, existing, requests);
  if (!placed.ok()) return placed.status().Prefixed(fmt::format("GPU {}", gpu.index));
  std::vector<CreatedSlice> made;
  for (size_t i = 0; i < requests.size(); ++i) {
    const mig::Slice& s = (*placed)[i];
    auto gi = m.CreateGpuInstance(gpu.index, s.profile->id, s.start);
    if (!gi.ok())
      return Failed(gi.status().Prefixed(fmt::format("creating {}", s.Name())),
                    Undo(m, gpu.index, made), gpu.index);
    made.push_back({*gi});
    if (gi_only) {
      if (progress) progress(made.back());
      continue;
    }
    const mig::ComputeProfile* cp =
        requests[i].ci ? requests[i].ci : gpu.model->DefaultComputeProfile(*s.profile);
    auto ci = m.CreateComputeInstance(gpu.index, gi->id, cp->id, std::nullopt);
    if (!ci.ok())
      return Failed(
          ci.status().Prefixed(fmt::format("creating a compute instance in {}", s.Name())),
          Undo(m, gpu.index, made), gpu.index);
    made.back().gi.compute_instances.push_back(*ci);
    if (progress) progress(made.back());
  }
  return made;
}

Result<std::vector<ComputeInstance>> CreateComputeInstances(
    Machine& m, const Gpu& gpu, int gi, std::span<const mig::ComputeProfile* const> profiles) {
  std::vector<ComputeInstance> made;
  for (const auto* cp : profiles) {
    auto ci = m.CreateComputeInstance(gpu.index, gi, cp->id, std::nullopt);
    if (!ci.ok()) {
      bool undone = true;
      for (auto it = made.rbegin(); it != made.rend(); ++it)
        undone = m.DestroyComputeInstance(gpu.index, gi, it->id).ok() && undone;
      return Failed(ci.status(),
                    undone
                        ? std::vector<std::string>{}
                        : std::vector<std::string>{"compute instances in GI " + std::to_string(gi)},
                    gpu.index);
    }
    made.push_back(*ci);
  }
  return made;
}

Result<DestroyReport> DestroySlices(Machine& m, const Gpu& gpu, const std::vector<int>& gis,
                                    bool force) {
  std::vector<Target> targets;
  for (int id : gis) {
    CARVE_ASSIGN_OR_RETURN(const GpuInstance* gi, FindGi(gpu, id));
    targets.push_back({gi, nullptr});
  }
  DestroyReport report;
  CARVE_RETURN_IF_ERROR(StopUsers(m, gpu, targets, force, report));
  for (const auto& t : targets) {
    for (const auto& ci : t.gi->compute_instances)
      if (Status st = m.DestroyComputeInstance(gpu.index, t.gi->id, ci.id); !st.ok())
        return Partial(st, t, gpu, report);
    if (Status st = m.DestroyGpuInstance(gpu.index, t.gi->id); !st.ok())
      return Partial(st, t, gpu, report);
    report.destroyed.push_back(TargetText(t));
  }
  return report;
}

Result<DestroyReport> DestroyComputeInstances(Machine& m, const Gpu& gpu,
                                              const std::vector<int>& gis,
                                              const std::vector<int>& cis, bool force) {
  std::vector<Target> targets;
  for (int id : gis) {
    CARVE_ASSIGN_OR_RETURN(const GpuInstance* gi, FindGi(gpu, id));
    if (cis.empty())
      for (const auto& ci : gi->compute_instances) targets.push_back({gi, &ci});
    for (int ci_id : cis) {
      CARVE_ASSIGN_OR_RETURN(const ComputeInstance* ci, FindCi(gpu, *gi, ci_id));
      targets.push_back({gi, ci});
    }
  }
  DestroyReport report;
  CARVE_RETURN_IF_ERROR(StopUsers(m, gpu, targets, force, report));
  for (const auto& t : targets) {
    if (Status st = m.DestroyComputeInstance(gpu.index, t.gi->id, t.ci->id); !st.ok())
      return Partial(st, t, gpu, report);
    report.destroyed.push_back(TargetText(t));
  }
  return report;
}

}  // namespace carve::device
