#include "device/sim/sim_ops.h"

#include <fmt/format.h>

#include <algorithm>

#include "device/refusals.h"
#include "device/xid.h"
#include "mig/layout.h"
#include "util/activity_file.h"

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

// The facts every refusal about GPU `index` names (its index and model).
RefusalFacts FactsOf(const SimGpu& g, int index) {
  const mig::GpuModel* m = ModelOf(g);
  RefusalFacts f;
  f.gpu = index;
  f.gpu_model = m ? m->name : g.model;
  return f;
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
  if (!m || !m->mig) return Refuse(Refusal::kNoMig, FactsOf(g, index));
  if (g.display_mode) return DisplayModeRefusal(*m, g);
  if (!g.mig.current)
    return Refuse(g.mig.pending ? Refusal::kMigEnablePending : Refusal::kMigOff, FactsOf(g, index));
  return m;
}

Result<SimGpuInstance*> FindGi(SimGpu& g, int index, int gi) {
  for (auto& x : g.gis)
    if (x.id == gi) return &x;
  RefusalFacts f = FactsOf(g, index);
  f.gpu_instance = gi;
  for (const auto& x : g.gis) f.list += (f.list.empty() ? "" : ", ") + std::to_string(x.id);
  return Refuse(Refusal::kNoGpuInstance, f);
}

std::vector<const SimProcess*> ProcessesOn(const SimGpu& g, int gi, int ci) {
  std::vector<const SimProcess*> out;
  for (const auto& p : g.processes)
    if ((gi < 0 || p.gi == gi) && (ci < 0 || p.ci == ci)) out.push_back(&p);
  return out;
}

std::string Describe(const std::vector<const SimProcess*>& procs) {
  std::string out;
  for (const auto* p : procs)
    out += (out.empty() ? "" : ", ") + ProcessText(p->pid, p->name, p->memory_mib);
  return out;
}

}  // namespace

int GpuInstanceId(int units, const mig::Placement& p) {
  return units / p.size - 1 + p.start / p.size;
}

Result<SimGpu*> FindGpu(SimState& s, int gpu) {
  if (gpu >= 0 && gpu < static_cast<int>(s.gpus.size())) return &s.gpus[gpu];
  RefusalFacts f;
  f.gpu = gpu;
  f.count = static_cast<int>(s.gpus.size());
  return Refuse(Refusal::kNoGpu, f);
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
    if (gi.xid != 0) o.fault = XidText(gi.xid);
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
  if (!m || !m->mig) return Refuse(Refusal::kNoMig, FactsOf(*g, gpu));
  if (g->display_mode) return DisplayModeRefusal(*m, *g);
  if (!enabled && !g->gis.empty()) {
    RefusalFacts f = FactsOf(*g, gpu);
    f.count = static_cast<int>(g->gis.size());
    return Refuse(Refusal::kGpuHasGpuInstances, f);
  }
  ModeChange change;
  g->mig.pending = enabled;
  if (g->mig.current != enabled) {
    auto procs = ProcessesOn(*g, -1, -1);
    if (!procs.empty()) {
      RefusalFacts f = FactsOf(*g, gpu);
      f.enable = enabled;
      f.list = Describe(procs);
      change.activation = Refuse(Refusal::kModeChangeInUse, f);
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
    return Status::InUse(fmt::format("cannot reset {}: in use by {}",
                                     GpuLabel(gpu, FactsOf(*g, gpu).gpu_model), Describe(procs)),
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
  RefusalFacts f = FactsOf(*g, gpu);
  if (!p) {
    f.id = profile_id;
    return Refuse(Refusal::kNoGpuInstanceProfile, f);
  }
  auto existing = SlicesOf(*m, *g);
  if (!start) {
    start = mig::DriverChosenStart(*m, existing, *p);
    if (!start) {
      f.profile = p->name;
      f.reason = mig::CheckAdd(*m, existing, mig::Slice{p, p->placements.back().start}).message();
      return Refuse(Refusal::kNoRoomForGpuInstance, f);
    }
  }
  mig::Slice slice{p, *start};
  Status fits = mig::CheckAdd(*m, existing, slice);
  if (!fits.ok()) return fits.Prefixed(fmt::format("GPU {}", gpu));
  SimGpuInstance gi{GpuInstanceId(m->placement_units, slice.placement()), p->id, *start, {}, 0, {}};
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
    RefusalFacts f = FactsOf(*g, gpu);
    f.gpu_instance = gi_id;
    for (const auto& c : gi->cis) f.list += (f.list.empty() ? "" : ", ") + std::to_string(c.id);
    return Refuse(Refusal::kGpuInstanceHasComputeInstances, f);
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
  RefusalFacts f = FactsOf(*g, gpu);
  f.gpu_instance = gi_id;
  if (cp == cps.end()) {
    f.id = ci_profile_id;
    f.profile = p->name;
    return Refuse(Refusal::kNoComputeInstanceProfile, f);
  }
  int same = 0;
  uint64_t used = 0;
  for (const auto& c : gi->cis) {
    auto other =
        std::find_if(cps.begin(), cps.end(), [&](auto& x) { return x.id == c.profile_id; });
    same += c.profile_id == cp->id;
    used |= ((uint64_t{1} << other->placements.front().size) - 1) << c.start;
  }
  std::string name = cp->NameIn(*p);
  f.profile = name;
  f.start = start;
  if (same >= cp->max_instances) {
    f.count = cp->max_instances;
    return Refuse(Refusal::kComputeInstanceLimit, f);
  }
  std::optional<int> chosen;
  for (const auto& pl : cp->placements) {
    uint64_t mask = ((uint64_t{1} << pl.size) - 1) << pl.start;
    if ((start && pl.start != *start) || (mask & used)) continue;
    chosen = pl.start;
    break;
  }
  if (!chosen) return Refuse(Refusal::kNoRoomForComputeInstance, f);
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
  RefusalFacts f = FactsOf(*g, gpu);
  f.gpu_instance = gi_id;
  f.compute_instance = ci_id;
  if (it == gi->cis.end()) return Refuse(Refusal::kNoComputeInstance, f);
  auto procs = ProcessesOn(*g, gi_id, ci_id);
  if (!procs.empty()) {
    f.uuid = it->uuid;
    f.list = Describe(procs);
    return Refuse(Refusal::kComputeInstanceInUse, f);
  }
  gi->cis.erase(it);
  return Status::Ok();
}

std::vector<std::string> FaultFilesOf(const SimGpu& g, std::optional<int> gi) {
  std::vector<std::string> out;
  for (const auto& x : g.gis)
    if (!gi || x.id == *gi) out.insert(out.end(), x.fault_files.begin(), x.fault_files.end());
  return out;
}

bool AddFaultFile(SimGpuInstance& gi, const std::string& activity_file) {
  if (activity_file.empty()) return false;
  std::string file = FaultFileBeside(activity_file);
  if (std::find(gi.fault_files.begin(), gi.fault_files.end(), file) != gi.fault_files.end())
    return false;
  gi.fault_files.push_back(file);
  return true;
}

std::vector<std::string> DevicesOf(const SimGpuInstance& gi) {
  std::vector<std::string> out;
  for (const auto& ci : gi.cis) out.push_back(ci.uuid);
  return out;
}

Result<FailedInstance> DoFailGpuInstance(SimState& s, int gpu, int gi_id, int xid) {
  if (!XidWords(xid))
    return Status::InvalidArgument(fmt::format("Xid {} is not one carve simulates", xid),
                                   fmt::format("Use one of: {}.", KnownXidList()));
  CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, gpu));
  CARVE_RETURN_IF_ERROR(MigOn(*g, gpu).status());
  CARVE_ASSIGN_OR_RETURN(SimGpuInstance * gi, FindGi(*g, gpu, gi_id));
  gi->xid = xid;
  for (const auto* p : ProcessesOn(*g, gi_id, -1)) AddFaultFile(*gi, p->activity);
  return FailedInstance{gpu, gi_id, xid, gi->fault_files, DevicesOf(*gi)};
}

Result<std::vector<FailedInstance>> DoClearFailures(SimState& s, std::optional<int> gpu,
                                                    std::optional<int> gi_id) {
  std::vector<int> gpus;
  if (gpu) {
    CARVE_ASSIGN_OR_RETURN(SimGpu * g, FindGpu(s, *gpu));
    if (gi_id) {  // one instance: it must exist
      CARVE_RETURN_IF_ERROR(MigOn(*g, *gpu).status());
      CARVE_RETURN_IF_ERROR(FindGi(*g, *gpu, *gi_id).status());
    }
    gpus.push_back(*gpu);
  } else {
    for (int i = 0; i < static_cast<int>(s.gpus.size()); ++i) gpus.push_back(i);
  }
  std::vector<FailedInstance> healed;
  for (int index : gpus)
    for (auto& gi : s.gpus[index].gis) {
      if (gi.xid == 0 || (gi_id && gi.id != *gi_id)) continue;
      healed.push_back({index, gi.id, gi.xid, std::move(gi.fault_files)});
      gi.xid = 0;
      gi.fault_files.clear();
    }
  return healed;
}

}  // namespace carve::device::sim
