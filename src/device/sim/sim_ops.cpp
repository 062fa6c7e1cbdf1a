#include "device/sim/sim_ops.h"

#include <fmt/format.h>

#include <algorithm>

#include "mig/layout.h"

namespace carve::device::sim {
namespace {

const mig::GpuModel* ModelOf(const SimGpu& g) { return mig::Catalog::Builtin().Find(g.model); }

const mig::Product& ProductOf(const mig::GpuModel& m, const SimGpu& g) {
  for (const auto& p : m.products)
    if (p.pci_device_id == g.pci_device_id) return p;
  return m.products.front();
}

// What a Workstation edition in display mode answers to any MIG call.
Status DisplayModeRefusal(const mig::GpuModel& m, const SimGpu& g) {
  return Status::NotSupported(
      fmt::format("{} is in display mode: MIG needs compute mode", ProductOf(m, g).name),
      "Switch it with NVIDIA's DisplayModeSelector (1.72.0 or later): displaymodeselector "
      "--gpumode compute, then reboot. See carve doctor.");
}

// A reset applies what waits for one: a pending ECC mode.
void ResetDone(SimGpu& g) {
  ++g.resets;
  g.ecc.current = g.ecc.pending;
}

std::string GpuLabel(const SimGpu& g, int index) {
  const mig::GpuModel* m = ModelOf(g);
  return fmt::format("GPU {} ({})", index, m ? m->name : g.model);
}

std::string ProcessText(const SimProcess& p) {
  return fmt::format("process {} ({}, {:.1f} GiB)", p.pid, p.name, p.memory_mib / 1024.0);
}

Result<const mig::Profile*> ProfileOf(const mig::GpuModel& m, const SimGpuInstance& gi) {
  const mig::Profile* p = m.FindProfileById(gi.profile_id);
  if (!p) return Status::Internal(fmt::format("state names unknown profile id {}", gi.profile_id));
  return p;
}

std::vector<mig::Slice> SlicesOf(const mig::GpuModel& m, const SimGpu& g) {
  std::vector<mig::Slice> out;
  for (const auto& gi : g.gis)
    if (const mig::Profile* p = m.FindProfileById(gi.profile_id))
      out.push_back(mig::Slice{p, gi.start, gi.id});
  return out;
}

// MIG must be on (current) for any instance call.
Result<const mig::GpuModel*> MigOn(const SimGpu& g, int index) {
  const mig::GpuModel* m = ModelOf(g);
  if (!m || !m->mig)
    return Status::NotSupported(fmt::format("{} does not support MIG", GpuLabel(g, index)),
                                "Use it as a whole GPU.");
  if (g.display_mode) return DisplayModeRefusal(*m, g);
  if (!g.mig.current)
    return Status::NotSupported(
        fmt::format("MIG is off on {}{}", GpuLabel(g, index),
                    g.mig.pending ? " (enable is pending a GPU reset)" : ""),
        g.mig.pending
            ? fmt::format("Stop the processes on GPU {0}, then: carve mig enable -i {0}", index)
            : fmt::format("Enable it first: carve mig enable -i {}", index));
  return m;
}

Result<SimGpuInstance*> FindGi(SimGpu& g, int index, int gi) {
  for (auto& x : g.gis)
    if (x.id == gi) return &x;
  std::string ids;
  for (const auto& x : g.gis) ids += (ids.empty() ? "" : ", ") + std::to_string(x.id);
  return Status::NotFound(
      fmt::format("{} has no GPU instance {}", GpuLabel(g, index), gi),
      ids.empty() ? "It has no GPU instances." : "Its GPU instances: " + ids + ".");
}

std::vector<const SimProcess*> ProcessesOn(const SimGpu& g, int gi, int ci) {
  std::vector<const SimProcess*> out;
  for (const auto& p : g.processes)
    if ((gi < 0 || p.gi == gi) && (ci < 0 || p.ci == ci)) out.push_back(&p);
  return out;
}

std::string Describe(const std::vector<const SimProcess*>& procs) {
  std::string out;
  for (const auto* p : procs) out += (out.empty() ? "" : ", ") + ProcessText(*p);
  return out;
}

}  // namespace

int GpuInstanceId(int units, const mig::Placement& p) {
  return units / p.size - 1 + p.start / p.size;
}

Result<SimGpu*> FindGpu(SimState& s, int gpu) {
  if (gpu >= 0 && gpu < static_cast<int>(s.gpus.size())) return &s.gpus[gpu];
  return Status::NotFound(
      fmt::format("no GPU {}", gpu),
      s.gpus.empty()
          ? "This machine has no GPUs."
          : fmt::format("This machine has GPUs 0–{}; see `carve gpus`.", s.gpus.size() - 1));
}

Result<Gpu> Snapshot(const SimGpu& g, int index) {
  const mig::GpuModel* m = ModelOf(g);
  if (!m) return Status::InvalidArgument(fmt::format("GPU {}: unknown model '{}'", index, g.model));
  Gpu out;
  out.index = index;
  out.uuid = g.uuid;
  out.name = ProductOf(*m, g).name;
  out.pci_bus_id = g.pci_bus_id;
  out.pci_device_id = ProductOf(*m, g).pci_device_id;
  out.serial = g.serial;
  out.model = m;
  out.arch = m->arch;
  out.memory_total_mib = m->memory_mib;
  out.persistence_mode = g.persistence_mode;
  out.ecc = g.ecc;
  out.mig_timeslicing = g.mig_timeslicing;
  out.mig_capable = m->mig && !g.display_mode;
  out.mig = g.mig;
  for (const auto& p : g.processes) {
    out.memory_used_mib += p.memory_mib;
    out.processes.push_back({p.pid, p.name, p.memory_mib, p.gi, p.ci});
  }
  for (const auto& gi : g.gis) {
    CARVE_ASSIGN_OR_RETURN(const mig::Profile* p, ProfileOf(*m, gi));
    GpuInstance o;
    o.id = gi.id;
    o.profile_id = p->id;
    o.profile = p->name;
    o.placement = {gi.start, p->size()};
    o.memory_total_mib = p->memory_mib;
    for (const auto* proc : ProcessesOn(g, gi.id, -1)) o.memory_used_mib += proc->memory_mib;
    for (const auto& ci : gi.cis) {
      const auto& cps = m->ComputeProfilesFor(*p);
      auto cp =
          std::find_if(cps.begin(), cps.end(), [&](auto& c) { return c.id == ci.profile_id; });
      if (cp == cps.end()) return Status::Internal("state names unknown compute profile");
      o.compute_instances.push_back({ci.id,
                                     cp->id,
                                     cp->NameIn(*p),
                                     cp->slices,
                                     {ci.start, cp->placements.front().size},
                                     ci.uuid,
                                     cp->is_default ? p->sm : cp->sm});
    }
    // By placement, as the NVML backend lists them: NVML cannot tell creation order.
    std::sort(o.compute_instances.begin(), o.compute_instances.end(),
              [](auto& a, auto& b) { return a.placement.start < b.placement.start; });
    out.gpu_instances.push_back(std::move(o));
  }
  std::sort(out.gpu_instances.begin(), out.gpu_instances.end(),
            [](auto& a, auto& b) { return a.placement.start < b.placement.start; });
  return out;
}

Result<ModeChange> DoSetMigMode(SimState& s, int gpu, bool enabled) {
  CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
  const mig::GpuModel* m = ModelOf(*g);
  if (!m || !m->mig)
    return Status::NotSupported(fmt::format("{} does not support MIG", GpuLabel(*g, gpu)));
  if (g->display_mode) return DisplayModeRefusal(*m, *g);
  if (!enabled && !g->gis.empty())
    return Status::InUse(
        fmt::format("{} still has {} GPU instance(s)", GpuLabel(*g, gpu), g->gis.size()),
        fmt::format("Destroy them first: carve mig destroy -i {} --all", gpu));
  ModeChange change;
  g->mig.pending = enabled;
  if (g->mig.current != enabled) {
    auto procs = ProcessesOn(*g, -1, -1);
    if (!procs.empty()) {
      change.activation = Status::InUse(
          fmt::format("{} is in use by {}", GpuLabel(*g, gpu), Describe(procs)),
          fmt::format("MIG mode stays pending until they stop and the GPU is reset; then run "
                      "carve mig {} -i {} again.",
                      enabled ? "enable" : "disable", gpu));
    } else {
      g->mig.current = enabled;
      if (m->arch == mig::Arch::kAmpere) {  // Ampere applies the change with a GPU reset
        ResetDone(*g);
        change.reset_done = true;
      }
    }
  }
  change.mode = g->mig;
  return change;
}

Status DoResetGpu(SimState& s, int gpu) {
  CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
  auto procs = ProcessesOn(*g, -1, -1);
  if (!procs.empty())
    return Status::InUse(
        fmt::format("cannot reset {}: in use by {}", GpuLabel(*g, gpu), Describe(procs)),
        "Stop those processes first.");
  g->gis.clear();
  g->mig.current = g->mig.pending;
  ResetDone(*g);
  return Status::Ok();
}

Result<GpuInstance> DoCreateGpuInstance(SimState& s, int gpu, int profile_id,
                                        std::optional<int> start) {
  CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
  CARVE_ASSIGN_OR_RETURN(const mig::GpuModel* m, MigOn(*g, gpu));
  const mig::Profile* p = m->FindProfileById(profile_id);
  if (!p)
    return Status::NotSupported(
        fmt::format("{} has no GPU-instance profile id {}", GpuLabel(*g, gpu), profile_id),
        fmt::format("See its profiles: carve profiles -i {}", gpu));
  auto existing = SlicesOf(*m, *g);
  if (!start) {
    start = mig::DriverChosenStart(*m, existing, *p);
    if (!start) {
      Status why = mig::CheckAdd(*m, existing, mig::Slice{p, p->placements.back().start});
      return Status::Insufficient(
          fmt::format("no room for {} on GPU {}: {}", p->name, gpu, why.message()),
          "See where it could go: carve profiles -i " + std::to_string(gpu));
    }
  }
  mig::Slice slice{p, *start};
  Status fits = mig::CheckAdd(*m, existing, slice);
  if (!fits.ok()) return fits.Prefixed(fmt::format("GPU {}", gpu));
  SimGpuInstance gi{GpuInstanceId(m->placement_units, slice.placement()), p->id, *start, {}};
  g->gis.push_back(gi);
  CARVE_ASSIGN_OR_RETURN(Gpu snap, Snapshot(*g, gpu));
  for (auto& x : snap.gpu_instances)
    if (x.id == gi.id) return x;
  return Status::Internal("created GPU instance vanished");
}

Status DoDestroyGpuInstance(SimState& s, int gpu, int gi_id) {
  CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
  CARVE_RETURN_IF_ERROR(MigOn(*g, gpu).status());
  CARVE_ASSIGN_OR_RETURN(SimGpuInstance * gi, FindGi(*g, gpu, gi_id));
  if (!gi->cis.empty()) {
    std::string ids;
    for (const auto& c : gi->cis) ids += (ids.empty() ? "" : ", ") + std::to_string(c.id);
    return Status::InUse(
        fmt::format("GPU instance {} on GPU {} still has compute instance(s) {}", gi_id, gpu, ids),
        fmt::format("Destroy compute instances first; `carve mig destroy -i {} --gi {}` does both "
                    "in order.",
                    gpu, gi_id));
  }
  g->gis.erase(g->gis.begin() + (gi - g->gis.data()));
  return Status::Ok();
}

Result<ComputeInstance> DoCreateComputeInstance(SimState& s, int gpu, int gi_id, int ci_profile_id,
                                                std::optional<int> start) {
  CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
  CARVE_ASSIGN_OR_RETURN(const mig::GpuModel* m, MigOn(*g, gpu));
  CARVE_ASSIGN_OR_RETURN(SimGpuInstance * gi, FindGi(*g, gpu, gi_id));
  CARVE_ASSIGN_OR_RETURN(const mig::Profile* p, ProfileOf(*m, *gi));
  const auto& cps = m->ComputeProfilesFor(*p);
  auto cp = std::find_if(cps.begin(), cps.end(), [&](auto& c) { return c.id == ci_profile_id; });
  if (cp == cps.end())
    return Status::NotSupported(fmt::format(
        "a {} GPU instance has no compute-instance profile id {}", p->name, ci_profile_id));
  int same = 0;
  uint64_t used = 0;
  for (const auto& c : gi->cis) {
    auto other =
        std::find_if(cps.begin(), cps.end(), [&](auto& x) { return x.id == c.profile_id; });
    same += c.profile_id == cp->id;
    used |= ((uint64_t{1} << other->placements.front().size) - 1) << c.start;
  }
  std::string name = cp->NameIn(*p);
  if (same >= cp->max_instances)
    return Status::Insufficient(fmt::format(
        "GPU instance {} takes at most {} {} compute instance(s)", gi_id, cp->max_instances, name));
  std::optional<int> chosen;
  for (const auto& pl : cp->placements) {
    uint64_t mask = ((uint64_t{1} << pl.size) - 1) << pl.start;
    if ((start && pl.start != *start) || (mask & used)) continue;
    chosen = pl.start;
    break;
  }
  if (!chosen)
    return Status::Insufficient(
        fmt::format("no room for a {} compute instance in GPU instance {} on GPU {}{}", name, gi_id,
                    gpu, start ? fmt::format(" at {}", *start) : ""),
        fmt::format("Its compute instances already hold the slices; see carve mig list -i {}",
                    gpu));
  int id = 0;
  while (std::any_of(gi->cis.begin(), gi->cis.end(), [&](auto& c) { return c.id == id; })) ++id;
  SimComputeInstance ci{id, cp->id, *chosen, s.NewUuid("MIG-")};
  gi->cis.push_back(ci);
  return ComputeInstance{ci.id,
                         cp->id,
                         name,
                         cp->slices,
                         {ci.start, cp->placements.front().size},
                         ci.uuid,
                         cp->is_default ? p->sm : cp->sm};
}

Status DoDestroyComputeInstance(SimState& s, int gpu, int gi_id, int ci_id) {
  CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
  CARVE_RETURN_IF_ERROR(MigOn(*g, gpu).status());
  CARVE_ASSIGN_OR_RETURN(SimGpuInstance * gi, FindGi(*g, gpu, gi_id));
  auto it = std::find_if(gi->cis.begin(), gi->cis.end(), [&](auto& c) { return c.id == ci_id; });
  if (it == gi->cis.end())
    return Status::NotFound(
        fmt::format("GPU instance {} on GPU {} has no compute instance {}", gi_id, gpu, ci_id));
  auto procs = ProcessesOn(*g, gi_id, ci_id);
  if (!procs.empty())
    return Status::InUse(fmt::format("{} is using {} (GPU {}, GI {}, CI {})", Describe(procs),
                                     it->uuid, gpu, gi_id, ci_id),
                         "Stop it first, or rerun with --force to stop it for you.");
  gi->cis.erase(it);
  return Status::Ok();
}

}  // namespace carve::device::sim
