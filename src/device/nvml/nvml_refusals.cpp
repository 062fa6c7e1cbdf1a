#include "device/nvml/nvml_refusals.h"

#include <fmt/format.h>

#include <algorithm>

#include "device/slices.h"
#include "mig/layout.h"

namespace carve::device::nvml {

std::string GpuLabel(const Gpu& g) {
  return fmt::format("GPU {} ({})", g.index, g.model ? g.model->name : g.name);
}

std::string DescribeProcesses(const std::vector<const Process*>& procs) {
  std::string out;
  for (const auto* p : procs)
    out += (out.empty() ? "" : ", ") +
           fmt::format("process {} ({}, {:.1f} GiB)", p->pid, p->name, p->memory_mib / 1024.0);
  return out;
}

std::vector<const Process*> ProcessesOn(const Gpu& g, int gi, int ci) {
  std::vector<const Process*> out;
  for (const auto& p : g.processes)
    if ((gi < 0 || p.gi == gi) && (ci < 0 || p.ci == ci)) out.push_back(&p);
  return out;
}

Status NeedMigOn(const Gpu& g) {
  if (!g.mig_capable)
    return Status::NotSupported(fmt::format("{} does not support MIG", GpuLabel(g)),
                                "Use it as a whole GPU.");
  if (g.mig.current) return Status::Ok();
  return Status::NotSupported(
      fmt::format("MIG is off on {}{}", GpuLabel(g),
                  g.mig.pending ? " (enable is pending a GPU reset)" : ""),
      g.mig.pending
          ? fmt::format("Stop the processes on GPU {0}, then: carve mig enable -i {0}", g.index)
          : fmt::format("Enable it first: carve mig enable -i {}", g.index));
}

Result<const GpuInstance*> FindGpuInstance(const Gpu& g, int gi) {
  for (const auto& x : g.gpu_instances)
    if (x.id == gi) return &x;
  std::vector<int> ids;
  for (const auto& x : g.gpu_instances) ids.push_back(x.id);
  std::sort(ids.begin(), ids.end());
  std::string list;
  for (int id : ids) list += (list.empty() ? "" : ", ") + std::to_string(id);
  return Status::NotFound(
      fmt::format("{} has no GPU instance {}", GpuLabel(g), gi),
      list.empty() ? "It has no GPU instances." : "Its GPU instances: " + list + ".");
}

Status ExplainCreateGi(const Gpu& g, const mig::Profile& p, std::optional<int> start, Status nvml) {
  if (nvml.code() != Code::kInsufficientResources || !g.model) return nvml;
  auto existing = SlicesOf(g);
  if (!start) {
    if (mig::DriverChosenStart(*g.model, existing, p)) return nvml;  // the rules say it fits
    Status why = mig::CheckAdd(*g.model, existing, mig::Slice{&p, p.placements.back().start});
    return Status::Insufficient(
        fmt::format("no room for {} on GPU {}: {}", p.name, g.index, why.message()),
        "See where it could go: carve profiles -i " + std::to_string(g.index));
  }
  Status fits = mig::CheckAdd(*g.model, existing, mig::Slice{&p, *start});
  return fits.ok() ? nvml : fits.Prefixed(fmt::format("GPU {}", g.index));
}

Status ExplainCreateCi(const Gpu& g, const GpuInstance& gi, const mig::ComputeProfile& cp,
                       std::optional<int> start, Status nvml) {
  if (nvml.code() != Code::kInsufficientResources || !g.model) return nvml;
  const mig::Profile* p = g.model->FindProfileById(gi.profile_id);
  if (!p) return nvml;
  std::string name = cp.NameIn(*p);
  int same = 0;
  uint64_t used = 0;
  for (const auto& c : gi.compute_instances) {
    same += c.profile_id == cp.id;
    used |= ((uint64_t{1} << c.placement.size) - 1) << c.placement.start;
  }
  if (same >= cp.max_instances)
    return Status::Insufficient(fmt::format(
        "GPU instance {} takes at most {} {} compute instance(s)", gi.id, cp.max_instances, name));
  for (const auto& pl : cp.placements)
    if ((!start || pl.start == *start) && !((((uint64_t{1} << pl.size) - 1) << pl.start) & used))
      return nvml;  // there is room: the rules do not explain NVML's answer
  return Status::Insufficient(
      fmt::format("no room for a {} compute instance in GPU instance {} on GPU {}{}", name, gi.id,
                  g.index, start ? fmt::format(" at {}", *start) : ""),
      fmt::format("Its compute instances already hold the slices; see carve mig list -i {}",
                  g.index));
}

Status ExplainDestroyGi(const Gpu& g, const GpuInstance& gi, Status nvml) {
  if (nvml.code() != Code::kInUse || gi.compute_instances.empty()) return nvml;
  std::string ids;
  for (const auto& c : gi.compute_instances)
    ids += (ids.empty() ? "" : ", ") + std::to_string(c.id);
  return Status::InUse(
      fmt::format("GPU instance {} on GPU {} still has compute instance(s) {}", gi.id, g.index,
                  ids),
      fmt::format("Destroy compute instances first; `carve mig destroy -i {} --gi {}` does both "
                  "in order.",
                  g.index, gi.id));
}

Status ExplainDestroyCi(const Gpu& g, const GpuInstance& gi, const ComputeInstance& ci,
                        Status nvml) {
  auto procs = ProcessesOn(g, gi.id, ci.id);
  if (nvml.code() != Code::kInUse || procs.empty()) return nvml;
  return Status::InUse(fmt::format("{} is using {} (GPU {}, GI {}, CI {})",
                                   DescribeProcesses(procs), ci.uuid, g.index, gi.id, ci.id),
                       "Stop it first, or rerun with --force to stop it for you.");
}

Status ExplainSetMigMode(const Gpu& g, bool enabled, Status nvml) {
  if (nvml.code() != Code::kInUse || enabled || g.gpu_instances.empty()) return nvml;
  return Status::InUse(
      fmt::format("{} still has {} GPU instance(s)", GpuLabel(g), g.gpu_instances.size()),
      fmt::format("Destroy them first: carve mig destroy -i {} --all", g.index));
}

Status PendingInUse(const Gpu& g, bool enabled) {
  auto procs = ProcessesOn(g, -1, -1);
  std::string who = procs.empty()
                        ? "another client (see nvidia-smi; monitoring agents such as DCGM "
                          "or nvidia-persistenced often hold it)"
                        : DescribeProcesses(procs);
  return Status::InUse(
      fmt::format("{} is in use by {}", GpuLabel(g), who),
      fmt::format("MIG mode stays pending until they stop and the GPU is reset; then run "
                  "carve mig {} -i {} again.",
                  enabled ? "enable" : "disable", g.index));
}

}  // namespace carve::device::nvml
