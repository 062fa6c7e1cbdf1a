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
  if (left.empty()) return why.WithHint(why.hint().empty() ? "Nothing was changed." : why.hint() + "\nNothing was changed.");
  std::string l;
  for (const auto& s : left) l += (l.empty() ? "" : ", ") + s;
  return Status::Error(why.code(), why.message(),
                       fmt::format("Undoing failed too: GPU {} still holds {}. See carve mig list -i {}.",
                                   gpu, l, gpu));
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
    return Status::NotSupported(fmt::format("GPU {} ({}) is not in carve's catalogue", gpu.index, gpu.name));
  auto existing = SlicesOf(gpu);
  auto placed = mig::Place(*gpu.model, existing, requests);
  if (!placed.ok()) return placed.status().Prefixed(fmt::format("GPU {}", gpu.index));
  std::vector<CreatedSlice> made;
  for (size_t i = 0; i < requests.size(); ++i) {
    const mig::Slice& s = (*placed)[i];
    auto gi = m.CreateGpuInstance(gpu.index, s.profile->id, s.start);
    if (!gi.ok()) return Failed(gi.status().Prefixed(fmt::format("creating {}", s.Name())),
                                Undo(m, gpu.index, made), gpu.index);
    made.push_back({*gi});
    if (gi_only) {
      if (progress) progress(made.back());
      continue;
    }
    const mig::ComputeProfile* cp = requests[i].ci ? requests[i].ci
                                                   : gpu.model->DefaultComputeProfile(*s.profile);
    auto ci = m.CreateComputeInstance(gpu.index, gi->id, cp->id, std::nullopt);
    if (!ci.ok())
      return Failed(ci.status().Prefixed(fmt::format("creating a compute instance in {}", s.Name())),
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
      return Failed(ci.status(), undone ? std::vector<std::string>{}
                                        : std::vector<std::string>{"compute instances in GI " + std::to_string(gi)},
                    gpu.index);
    }
    made.push_back(*ci);
  }
  return made;
}

Result<DestroyReport> DestroySlices(Machine& m, const Gpu& gpu, const std::vector<int>& gis,
                                    bool force) {
  std::vector<const GpuInstance*> targets;
  for (int id : gis) {
    auto it = std::find_if(gpu.gpu_instances.begin(), gpu.gpu_instances.end(),
                           [&](const GpuInstance& g) { return g.id == id; });
    if (it == gpu.gpu_instances.end())
      return Status::NotFound(fmt::format("GPU {} has no GPU instance {}", gpu.index, id),
                              fmt::format("See them: carve mig list -i {}", gpu.index));
    targets.push_back(&*it);
  }
  DestroyReport report;
  std::vector<std::string> busy;
  for (const auto& p : gpu.processes)
    for (const auto* t : targets)
      if (p.gi == t->id) {
        busy.push_back(fmt::format("process {} ({}, {:.1f} GiB) on {}", p.pid, p.name,
                                   p.memory_mib / 1024.0, SliceText(*t)));
        report.stopped.push_back(p);
      }
  if (!busy.empty() && !force) {
    std::string b;
    for (const auto& s : busy) b += (b.empty() ? "" : "; ") + s;
    return Status::InUse(fmt::format("cannot destroy on GPU {}: {}", gpu.index, b),
                         "Stop it first, or rerun with --force to stop it for you. Nothing was changed.");
  }
  for (const auto& p : report.stopped)
    CARVE_RETURN_IF_ERROR(m.StopProcess(gpu.index, p.pid, 5000));
  auto partial = [&](const Status& why, const GpuInstance& t) {
    std::string done;
    for (const auto& d : report.destroyed) done += (done.empty() ? "" : ", ") + d;
    return Status::Error(why.code(), fmt::format("destroying {}: {}", SliceText(t), why.message()),
                         fmt::format("{}See what GPU {} holds now: carve mig list -i {}",
                                     done.empty() ? "" : "Already destroyed: " + done + ". ",
                                     gpu.index, gpu.index));
  };
  for (const auto* t : targets) {
    for (const auto& ci : t->compute_instances)
      if (Status st = m.DestroyComputeInstance(gpu.index, t->id, ci.id); !st.ok())
        return partial(st, *t);
    if (Status st = m.DestroyGpuInstance(gpu.index, t->id); !st.ok()) return partial(st, *t);
    report.destroyed.push_back(SliceText(*t));
  }
  return report;
}

}  // namespace carve::device
