#include "device/refusals.h"

#include <fmt/format.h>

namespace carve::device {
namespace {

// Words are fmt templates over the named fields of Args below.
struct Row {
  Refusal kind;
  Code code;
  const char* message;
  const char* hint;
  const char* hint_none = nullptr;  // instead of `hint` when there is nothing to list
};

constexpr Row kRefusals[] = {
    {Refusal::kNoGpu, Code::kNotFound, "no GPU {gpu}",
     "This machine has GPUs 0–{last}; see `carve gpus`.", "This machine has no GPUs."},
    {Refusal::kNoMig, Code::kNotSupported, "{label} does not support MIG",
     "Use it as a whole GPU."},
    {Refusal::kMigOff, Code::kNotSupported, "MIG is off on {label}",
     "Enable it first: carve mig enable -i {gpu}"},
    {Refusal::kMigEnablePending, Code::kNotSupported,
     "MIG is off on {label} (enable is pending a GPU reset)",
     "Stop the processes on GPU {gpu}, then: carve mig enable -i {gpu}"},
    {Refusal::kNoGpuInstanceProfile, Code::kNotSupported,
     "{label} has no GPU-instance profile id {id}", "See its profiles: carve profiles -i {gpu}"},
    {Refusal::kNoComputeInstanceProfile, Code::kNotSupported,
     "a {profile} GPU instance has no compute-instance profile id {id}", ""},
    {Refusal::kNoGpuInstance, Code::kNotFound, "{label} has no GPU instance {gi}",
     "Its GPU instances: {list}.", "It has no GPU instances."},
    {Refusal::kNoComputeInstance, Code::kNotFound,
     "GPU instance {gi} on GPU {gpu} has no compute instance {ci}", ""},
    {Refusal::kNoProcess, Code::kNotFound, "no process {id} on GPU {gpu}", ""},
    {Refusal::kNoRoomForGpuInstance, Code::kInsufficientResources,
     "no room for {profile} on GPU {gpu}: {reason}",
     "See where it could go: carve profiles -i {gpu}"},
    {Refusal::kComputeInstanceLimit, Code::kInsufficientResources,
     "GPU instance {gi} takes at most {count} {profile} compute instance(s)", ""},
    {Refusal::kNoRoomForComputeInstance, Code::kInsufficientResources,
     "no room for a {profile} compute instance in GPU instance {gi} on GPU {gpu}{at}",
     "Its compute instances already hold the slices; see carve mig list -i {gpu}"},
    {Refusal::kGpuInstanceHasComputeInstances, Code::kInUse,
     "GPU instance {gi} on GPU {gpu} still has compute instance(s) {list}",
     "Destroy compute instances first; `carve mig destroy -i {gpu} --gi {gi}` does both in "
     "order."},
    {Refusal::kComputeInstanceInUse, Code::kInUse,
     "{list} is using {uuid} (GPU {gpu}, GI {gi}, CI {ci})",
     "Stop it first, or rerun with --force to stop it for you."},
    {Refusal::kGpuHasGpuInstances, Code::kInUse, "{label} still has {count} GPU instance(s)",
     "Destroy them first: carve mig destroy -i {gpu} --all"},
    {Refusal::kModeChangeInUse, Code::kInUse, "{label} is in use by {list}",
     "MIG mode stays pending until they stop and the GPU is reset; then run carve mig {verb} -i "
     "{gpu} again."},
};

const Row& RowFor(Refusal kind) {
  for (const Row& row : kRefusals)
    if (row.kind == kind) return row;
  return kRefusals[0];  // unreachable: refusals_test.cpp checks every kind has its row
}

std::string Words(const char* text, const RefusalFacts& f) {
  return fmt::format(
      fmt::runtime(text), fmt::arg("gpu", f.gpu), fmt::arg("label", GpuLabel(f.gpu, f.gpu_model)),
      fmt::arg("gi", f.gpu_instance), fmt::arg("ci", f.compute_instance), fmt::arg("id", f.id),
      fmt::arg("count", f.count), fmt::arg("last", f.count - 1), fmt::arg("profile", f.profile),
      fmt::arg("list", f.list), fmt::arg("reason", f.reason), fmt::arg("uuid", f.uuid),
      fmt::arg("at", f.start ? fmt::format(" at {}", *f.start) : ""),
      fmt::arg("verb", f.enable ? "enable" : "disable"));
}

}  // namespace

Status Refuse(Refusal kind, const RefusalFacts& facts) {
  const Row& row = RowFor(kind);
  const bool none = row.hint_none && facts.list.empty() && facts.count == 0;
  return Status::Error(row.code, Words(row.message, facts),
                       Words(none ? row.hint_none : row.hint, facts));
}

std::string GpuLabel(int gpu, const std::string& model_name) {
  return fmt::format("GPU {} ({})", gpu, model_name);
}

std::string ProcessText(uint32_t pid, const std::string& name, uint64_t memory_mib) {
  return fmt::format("process {} ({}, {:.1f} GiB)", pid, name, memory_mib / 1024.0);
}

}  // namespace carve::device
