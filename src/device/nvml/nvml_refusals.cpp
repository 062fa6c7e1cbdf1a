#include "device/nvml/nvml_refusals.h"

#include <fmt/format.h>

#include <algorithm>

#include "device/slices.h"
#include "mig/layout.h"

namespace carve::device::nvml {

RefusalFacts FactsOf(const Gpu& g) {
  RefusalFacts f;
  f.gpu = g.index;
  f.gpu_model = g.model ? g.model->name : g.name;
  return f;
}

std::string DescribeProcesses(const std::vector<const Process*>& procs) {
  std::string out;
  for (const auto* p : procs)
    out += (out.empty() ? "" : ", ") + ProcessText(p->pid, p->name, p->memory_mib);
  return out;
}

std::vector<const Process*> ProcessesOn(const Gpu& g, int gi, int ci) {
  std::vector<const Process*> out;
  for (const auto& p : g.processes)
    if ((gi < 0 || p.gi == gi) && (ci < 0 || p.ci == ci)) out.push_back(&p);
  return out;
}

Status NeedMigOn(const Gpu& g) {
  if (!g.mig_capable) return Refuse(Refusal::kNoMig, FactsOf(g));
  if (g.mig.current) return Status::Ok();
  return Refuse(g.mig.pending ? Refusal::kMigEnablePending : Refusal::kMigOff, FactsOf(g));
}

Result<const GpuInstance*> FindGpuInstance(const Gpu& g, int gi) {
  for (const auto& x : g.gpu_instances)
    if (x.id == gi) return &x;
  std::vector<int> ids;
  for (const auto& x : g.gpu_instances) ids.push_back(x.id);
  std::sort(ids.begin(), ids.end());
  RefusalFacts f = FactsOf(g);
  f.gpu_instance = gi;
  for (int id : ids) f.list += (f.list.empty() ? "" : ", ") + std::to_string(id);
  return Refuse(Refusal::kNoGpuInstance, f);
}

Status ExplainCreateGi(const Gpu& g, const mig::Profile& p, std::optional<int> start, Status nvml) {
  if (nvml.code() != Code::kInsufficientResources || !g.model) return nvml;
  auto existing = SlicesOf(g);
  if (!start) {
    if (mig::DriverChosenStart(*g.model, existing, p)) return nvml;  // the rules say it fits
    RefusalFacts f = FactsOf(g);
    f.profile = p.name;
    f.reason =
        mig::CheckAdd(*g.model, existing, mig::Slice{&p, p.placements.back().start}).message();
    return Refuse(Refusal::kNoRoomForGpuInstance, f);
  }
  Status fits = mig::CheckAdd(*g.model, existing, mig::Slice{&p, *start});
  return fits.ok() ? nvml : fits.Prefixed(fmt::format("GPU {}", g.index));
}

Status ExplainCreateCi(const Gpu& g, const GpuInstance& gi, const mig::ComputeProfile& cp,
                       std::optional<int> start, Status nvml) {
  if (nvml.code() != Code::kInsufficientResources || !g.model) return nvml;
  const mig::Profile* p = g.model->FindProfileById(gi.profile_id);
  if (!p) return nvml;
  RefusalFacts f = FactsOf(g);
  f.gpu_instance = gi.id;
  f.profile = cp.NameIn(*p);
  f.start = start;
  int same = 0;
  uint64_t used = 0;
  for (const auto& c : gi.compute_instances) {
    same += c.profile_id == cp.id;
    used |= ((uint64_t{1} << c.placement.size) - 1) << c.placement.start;
  }
  if (same >= cp.max_instances) {
    f.count = cp.max_instances;
    return Refuse(Refusal::kComputeInstanceLimit, f);
  }
  for (const auto& pl : cp.placements)
    if ((!start || pl.start == *start) && !((((uint64_t{1} << pl.size) - 1) << pl.start) & used))
      return nvml;  // there is room: the rules do not explain NVML's answer
  return Refuse(Refusal::kNoRoomForComputeInstance, f);
}

Status ExplainDestroyGi(const Gpu& g, const GpuInstance& gi, Status nvml) {
  if (nvml.code() != Code::kInUse || gi.compute_instances.empty()) return nvml;
  RefusalFacts f = FactsOf(g);
  f.gpu_instance = gi.id;
  for (const auto& c : gi.compute_instances)
    f.list += (f.list.empty() ? "" : ", ") + std::to_string(c.id);
  return Refuse(Refusal::kGpuInstanceHasComputeInstances, f);
}

Status ExplainDestroyCi(const Gpu& g, const GpuInstance& gi, const ComputeInstance& ci,
                        Status nvml) {
  auto procs = ProcessesOn(g, gi.id, ci.id);
  if (nvml.code() != Code::kInUse || procs.empty()) return nvml;
  RefusalFacts f = FactsOf(g);
  f.gpu_instance = gi.id;
  f.compute_instance = ci.id;
  f.uuid = ci.uuid;
  f.list = DescribeProcesses(procs);
  return Refuse(Refusal::kComputeInstanceInUse, f);
}

Status ExplainSetMigMode(const Gpu& g, bool enabled, Status nvml) {
  if (nvml.code() != Code::kInUse || enabled || g.gpu_instances.empty()) return nvml;
  RefusalFacts f = FactsOf(g);
  f.count = static_cast<int>(g.gpu_instances.size());
  return Refuse(Refusal::kGpuHasGpuInstances, f);
}

Status PendingInUse(const Gpu& g, bool enabled) {
  auto procs = ProcessesOn(g, -1, -1);
  RefusalFacts f = FactsOf(g);
  f.enable = enabled;
  // NVML alone may see no process: the one holding the GPU is not carve's to list.
  f.list = procs.empty() ? "another client (see nvidia-smi; monitoring agents such as DCGM "
                           "or nvidia-persistenced often hold it)"
                         : DescribeProcesses(procs);
  return Refuse(Refusal::kModeChangeInUse, f);
}

}  // namespace carve::device::nvml
