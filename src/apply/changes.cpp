#include "apply/changes.h"

#include <fmt/format.h>

#include <algorithm>

namespace carve::apply {
namespace {

Op ModeOp(const GpuDiff& d) {
  Op op{.kind = OpKind::kSetMigMode, .gpu = d.before.index};
  op.enable = d.after.mig;
  op.reset = d.reset;
  return op;
}

void AddDestroys(const GpuDiff& d, bool force, std::vector<Op>& ops) {
  int gpu = d.before.index;
  if (force) {
    for (const auto& c : d.destroy)
      for (const auto& p : c.processes) {
        Op op{.kind = OpKind::kStopProcess, .gpu = gpu, .slice = c.spec};
        op.process = p;
        ops.push_back(op);
      }
    for (const auto& p : d.mode_blockers) {
      Op op{.kind = OpKind::kStopProcess, .gpu = gpu};
      op.process = p;
      ops.push_back(op);
    }
  }
  for (const auto& c : d.destroy) {
    for (const auto& ci : c.cis) {
      Op op{.kind = OpKind::kDestroyCi, .gpu = gpu, .slice = c.spec, .gi = c.gi, .ci = ci.id};
      ops.push_back(op);
    }
    ops.push_back(Op{.kind = OpKind::kDestroyGi, .gpu = gpu, .slice = c.spec, .gi = c.gi});
  }
}

void AddCreates(const GpuDiff& d, std::vector<Op>& ops) {
  std::vector<SliceChange> create = d.create;
  std::sort(create.begin(), create.end(),
            [](auto& a, auto& b) { return *a.spec.start < *b.spec.start; });
  for (const auto& c : create) {
    ops.push_back(Op{.kind = OpKind::kCreateGi, .gpu = d.before.index, .slice = c.spec});
    // Larger compute instances first: a 1c at 0 would leave no legal start for a 2c.
    auto cis = c.spec.cis;
    std::stable_sort(cis.begin(), cis.end(),
                     [](auto* a, auto* b) { return a->slices > b->slices; });
    for (const auto* cp : cis) {
      Op op{.kind = OpKind::kCreateCi, .gpu = d.before.index, .slice = c.spec};
      op.ci_profile = cp;
      ops.push_back(op);
    }
  }
}

}  // namespace

std::string Op::Describe() const {
  std::string gi_text = gi >= 0 ? fmt::format(" (GI {})", gi) : "";
  switch (kind) {
    case OpKind::kStopProcess:
      return fmt::format("GPU {}: stop {}", gpu, ProcessText(process));
    case OpKind::kDestroyCi:
      return fmt::format("GPU {}: destroy compute instance {} of {}{}", gpu, ci, slice.Name(),
                         gi_text);
    case OpKind::kDestroyGi:
      return fmt::format("GPU {}: destroy {}{}", gpu, slice.Name(), gi_text);
    case OpKind::kSetMigMode:
      return fmt::format("GPU {}: turn MIG {}{}", gpu, enable ? "on" : "off",
                         reset ? fmt::format(" (resets GPU {} only)", gpu) : "");
    case OpKind::kCreateGi:
      return fmt::format("GPU {}: create GPU instance {}@{}", gpu, slice.profile->name,
                         *slice.start);
    case OpKind::kCreateCi:
      if (ci_profile->is_default)
        return fmt::format("GPU {}: create the compute instance of {}@{}", gpu, slice.profile->name,
                           *slice.start);
      return fmt::format("GPU {}: create compute instance {} in {}@{}", gpu,
                         ci_profile->NameIn(*slice.profile), slice.profile->name, *slice.start);
  }
  return "?";
}

bool Changes::in_use() const {
  return std::any_of(gpus.begin(), gpus.end(), [](const GpuDiff& d) { return d.in_use(); });
}

Layouts Changes::Before() const {
  Layouts out;
  for (const auto& d : gpus) out.push_back(LayoutOf(d.before));
  return out;
}

Layouts Changes::After() const {
  Layouts out;
  for (const auto& d : gpus) out.push_back(d.after);
  return out;
}

Result<Changes> MakeChanges(const std::vector<device::Gpu>& gpus, const Layouts& target,
                            bool force) {
  Changes plan;
  for (const auto& t : target) {
    auto g = std::find_if(gpus.begin(), gpus.end(), [&](auto& x) { return x.index == t.gpu; });
    if (g == gpus.end())
      return Status::NotFound(
          fmt::format("{} names GPU {}, which this machine does not have", t.source, t.gpu),
          "See the GPUs: carve gpus");
    CARVE_ASSIGN_OR_RETURN(GpuDiff d, DiffGpu(*g, t));
    plan.gpus.push_back(std::move(d));
  }
  for (const auto& d : plan.gpus)
    if (d.mode_change && d.after.mig) {
      if (force)
        for (const auto& p : d.mode_blockers) {
          Op op{.kind = OpKind::kStopProcess, .gpu = d.before.index};
          op.process = p;
          plan.ops.push_back(op);
        }
      plan.ops.push_back(ModeOp(d));
    }
  for (const auto& d : plan.gpus) {
    GpuDiff rest = d;
    if (d.after.mig) rest.mode_blockers.clear();  // handled above
    AddDestroys(rest, force, plan.ops);
    if (d.mode_change && !d.after.mig) plan.ops.push_back(ModeOp(d));
    AddCreates(d, plan.ops);
  }
  return plan;
}

}  // namespace carve::apply
