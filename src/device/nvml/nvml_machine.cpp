#include "device/nvml/nvml_machine.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "device/nvml/nvml_errors.h"
#include "device/nvml/nvml_refusals.h"

namespace carve::device::nvml {

Result<std::unique_ptr<NvmlMachine>> NvmlMachine::Open(const std::string& library) {
  CARVE_ASSIGN_OR_RETURN(auto lib, NvmlLibrary::Load(library));
  return std::unique_ptr<NvmlMachine>(new NvmlMachine(std::move(lib)));
}

Result<int> NvmlMachine::DeviceCount() {
  unsigned int n = 0;
  int rc = Call(fn().nvmlDeviceGetCount_v2, &n);
  if (rc == NVML_ERROR_FUNCTION_NOT_FOUND) rc = Call(fn().nvmlDeviceGetCount, &n);
  CARVE_RETURN_IF_ERROR(FromNvml(rc, "counting GPUs"));
  return static_cast<int>(n);
}

Result<nvmlDevice_t> NvmlMachine::Device(int index) {
  CARVE_ASSIGN_OR_RETURN(int n, DeviceCount());
  if (index < 0 || index >= n) {
    RefusalFacts f;
    f.gpu = index;
    f.count = n;
    return Refuse(Refusal::kNoGpu, f);
  }
  nvmlDevice_t dev = nullptr;
  int rc = Call(fn().nvmlDeviceGetHandleByIndex_v2, static_cast<unsigned>(index), &dev);
  if (rc == NVML_ERROR_FUNCTION_NOT_FOUND)
    rc = Call(fn().nvmlDeviceGetHandleByIndex, static_cast<unsigned>(index), &dev);
  CARVE_RETURN_IF_ERROR(FromNvml(rc, fmt::format("GPU {}: opening it", index)));
  return dev;
}

Result<nvmlGpuInstance_t> NvmlMachine::GpuInstanceHandle(const Gpu& g, int gi) {
  CARVE_ASSIGN_OR_RETURN(nvmlDevice_t dev, Device(g.index));
  nvmlGpuInstance_t h = nullptr;
  CARVE_RETURN_IF_ERROR(
      FromNvml(Call(fn().nvmlDeviceGetGpuInstanceById, dev, static_cast<unsigned>(gi), &h),
               fmt::format("GPU {}: finding GPU instance {}", g.index, gi)));
  return h;
}

Result<nvmlComputeInstance_t> NvmlMachine::ComputeInstanceHandle(const Gpu& g, int gi, int ci) {
  CARVE_ASSIGN_OR_RETURN(nvmlGpuInstance_t h, GpuInstanceHandle(g, gi));
  nvmlComputeInstance_t c = nullptr;
  CARVE_RETURN_IF_ERROR(FromNvml(
      Call(fn().nvmlGpuInstanceGetComputeInstanceById, h, static_cast<unsigned>(ci), &c),
      fmt::format("GPU {}: finding compute instance {} of GPU instance {}", g.index, ci, gi)));
  return c;
}

Result<DriverInfo> NvmlMachine::Driver() {
  DriverInfo info{"nvml", "", "", ""};
  char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
  CARVE_RETURN_IF_ERROR(FromNvml(Call(fn().nvmlSystemGetDriverVersion, buf, unsigned{sizeof buf}),
                                 "reading the driver version"));
  info.driver_version = buf;
  if (Call(fn().nvmlSystemGetNVMLVersion, buf, unsigned{sizeof buf}) == NVML_SUCCESS)
    info.nvml_version = buf;
  int cuda = 0;
  int rc = Call(fn().nvmlSystemGetCudaDriverVersion_v2, &cuda);
  if (rc == NVML_ERROR_FUNCTION_NOT_FOUND) rc = Call(fn().nvmlSystemGetCudaDriverVersion, &cuda);
  if (rc == NVML_SUCCESS) info.cuda_version = fmt::format("{}.{}", cuda / 1000, cuda % 1000 / 10);
  return info;
}

std::string NvmlMachine::ChangeLockPath() const {
  if (simulated()) return lib_->sim_state() + ".changes.lock";  // the SimMachine's lock
  if (::access("/run/lock", W_OK) == 0) return "/run/lock/carve.lock";
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg && *xdg && ::access(xdg, W_OK) == 0) return std::string(xdg) + "/carve.lock";
  return "/tmp/carve.lock";
}

Result<std::vector<Gpu>> NvmlMachine::Gpus() {
  CARVE_ASSIGN_OR_RETURN(int n, DeviceCount());
  std::vector<Gpu> out;
  for (int i = 0; i < n; ++i) {
    CARVE_ASSIGN_OR_RETURN(Gpu g, ReadGpu(i));
    out.push_back(std::move(g));
  }
  return out;
}

Result<Gpu> NvmlMachine::GetGpu(int index) { return ReadGpu(index); }

Result<ModeChange> NvmlMachine::SetMigMode(int gpu, bool enabled) {
  CARVE_ASSIGN_OR_RETURN(Gpu before, ReadGpu(gpu));
  if (!before.mig_capable) return Refuse(Refusal::kNoMig, FactsOf(before));
  CARVE_ASSIGN_OR_RETURN(nvmlDevice_t dev, Device(gpu));
  nvmlReturn_t activation = NVML_SUCCESS;
  int rc = Call(fn().nvmlDeviceSetMigMode, dev, enabled ? 1u : 0u, &activation);
  Status st = FromNvml(rc, fmt::format("GPU {}: turning MIG {}", gpu, enabled ? "on" : "off"));
  if (!st.ok()) return ExplainSetMigMode(before, enabled, st);
  CARVE_ASSIGN_OR_RETURN(Gpu after, ReadGpu(gpu));
  ModeChange change;
  change.mode = after.mig;
  if (activation == NVML_ERROR_IN_USE) {
    change.activation = PendingInUse(before, enabled);
  } else if (activation != NVML_SUCCESS) {
    change.activation =
        FromNvml(activation, fmt::format("GPU {}: MIG {} is pending", gpu, enabled ? "on" : "off"));
  } else {  // Ampere applies a mode change with a GPU reset
    change.reset_done = before.mig.current != enabled && after.arch == mig::Arch::kAmpere;
  }
  return change;
}

Status NvmlMachine::ResetGpu(int gpu) {
  return Status::NotSupported(
      fmt::format("carve cannot reset GPU {} through NVML", gpu),
      fmt::format("Stop every process on it, then: sudo nvidia-smi -r -i {}", gpu));
}

Result<GpuInstance> NvmlMachine::CreateGpuInstance(int gpu, int profile_id,
                                                   std::optional<int> start) {
  CARVE_ASSIGN_OR_RETURN(Gpu g, ReadGpu(gpu));
  CARVE_RETURN_IF_ERROR(NeedMigOn(g));
  const mig::Profile* p = g.model ? g.model->FindProfileById(profile_id) : nullptr;
  if (!p) {
    RefusalFacts f = FactsOf(g);
    f.id = profile_id;
    return Refuse(Refusal::kNoGpuInstanceProfile, f);
  }
  CARVE_ASSIGN_OR_RETURN(nvmlDevice_t dev, Device(gpu));
  nvmlGpuInstance_t h = nullptr;
  unsigned id = static_cast<unsigned>(profile_id);
  nvmlGpuInstancePlacement_t where{static_cast<unsigned>(start.value_or(0)),
                                   static_cast<unsigned>(p->size())};
  int rc = start ? Call(fn().nvmlDeviceCreateGpuInstanceWithPlacement, dev, id, &where, &h)
                 : Call(fn().nvmlDeviceCreateGpuInstance, dev, id, &h);
  Status st = FromNvml(rc, fmt::format("GPU {}: creating a {} GPU instance{}", gpu, p->name,
                                       start ? fmt::format(" at {}", *start) : ""));
  if (!st.ok()) return ExplainCreateGi(g, *p, start, st);
  nvmlGpuInstanceInfo_t info{};
  CARVE_RETURN_IF_ERROR(FromNvml(Call(fn().nvmlGpuInstanceGetInfo, h, &info),
                                 fmt::format("GPU {}: reading the new GPU instance", gpu)));
  CARVE_ASSIGN_OR_RETURN(Gpu now, ReadGpu(gpu));
  CARVE_ASSIGN_OR_RETURN(const GpuInstance* made, FindGpuInstance(now, static_cast<int>(info.id)));
  return *made;
}

Status NvmlMachine::DestroyGpuInstance(int gpu, int gi) {
  CARVE_ASSIGN_OR_RETURN(Gpu g, ReadGpu(gpu));
  CARVE_RETURN_IF_ERROR(NeedMigOn(g));
  CARVE_ASSIGN_OR_RETURN(const GpuInstance* target, FindGpuInstance(g, gi));
  CARVE_ASSIGN_OR_RETURN(nvmlGpuInstance_t h, GpuInstanceHandle(g, gi));
  Status st = FromNvml(Call(fn().nvmlGpuInstanceDestroy, h),
                       fmt::format("GPU {}: destroying GPU instance {}", gpu, gi));
  return st.ok() ? st : ExplainDestroyGi(g, *target, st);
}

Result<ComputeInstance> NvmlMachine::CreateComputeInstance(int gpu, int gi, int ci_profile_id,
                                                           std::optional<int> start) {
  CARVE_ASSIGN_OR_RETURN(Gpu g, ReadGpu(gpu));
  CARVE_RETURN_IF_ERROR(NeedMigOn(g));
  CARVE_ASSIGN_OR_RETURN(const GpuInstance* target, FindGpuInstance(g, gi));
  const mig::Profile* p = g.model ? g.model->FindProfileById(target->profile_id) : nullptr;
  const mig::ComputeProfile* cp = nullptr;
  if (p)
    for (const auto& c : g.model->ComputeProfilesFor(*p))
      if (c.id == ci_profile_id) cp = &c;
  if (!cp) {
    RefusalFacts f = FactsOf(g);
    f.id = ci_profile_id;
    f.profile = target->profile;
    return Refuse(Refusal::kNoComputeInstanceProfile, f);
  }
  CARVE_ASSIGN_OR_RETURN(nvmlGpuInstance_t h, GpuInstanceHandle(g, gi));
  nvmlComputeInstance_t c = nullptr;
  unsigned id = static_cast<unsigned>(ci_profile_id);
  nvmlComputeInstancePlacement_t where{static_cast<unsigned>(start.value_or(0)),
                                       static_cast<unsigned>(cp->placements.front().size)};
  int rc = start ? Call(fn().nvmlGpuInstanceCreateComputeInstanceWithPlacement, h, id, &where, &c)
                 : Call(fn().nvmlGpuInstanceCreateComputeInstance, h, id, &c);
  Status st = FromNvml(rc, fmt::format("GPU {}: creating a {} compute instance in GPU instance {}",
                                       gpu, cp->NameIn(*p), gi));
  if (!st.ok()) return ExplainCreateCi(g, *target, *cp, start, st);
  nvmlComputeInstanceInfo_t info{};
  rc = Call(fn().nvmlComputeInstanceGetInfo_v2, c, &info);
  if (rc == NVML_ERROR_FUNCTION_NOT_FOUND) rc = Call(fn().nvmlComputeInstanceGetInfo, c, &info);
  CARVE_RETURN_IF_ERROR(FromNvml(rc, fmt::format("GPU {}: reading the new compute instance", gpu)));
  CARVE_ASSIGN_OR_RETURN(Gpu now, ReadGpu(gpu));
  CARVE_ASSIGN_OR_RETURN(const GpuInstance* in, FindGpuInstance(now, gi));
  for (const auto& x : in->compute_instances)
    if (x.id == static_cast<int>(info.id)) return x;
  return Status::Internal(
      fmt::format("GPU {}: the new compute instance {} is not listed", gpu, info.id));
}

Status NvmlMachine::DestroyComputeInstance(int gpu, int gi, int ci) {
  CARVE_ASSIGN_OR_RETURN(Gpu g, ReadGpu(gpu));
  CARVE_RETURN_IF_ERROR(NeedMigOn(g));
  CARVE_ASSIGN_OR_RETURN(const GpuInstance* target, FindGpuInstance(g, gi));
  auto it = std::find_if(target->compute_instances.begin(), target->compute_instances.end(),
                         [&](auto& c) { return c.id == ci; });
  if (it == target->compute_instances.end()) {
    RefusalFacts f = FactsOf(g);
    f.gpu_instance = gi;
    f.compute_instance = ci;
    return Refuse(Refusal::kNoComputeInstance, f);
  }
  CARVE_ASSIGN_OR_RETURN(nvmlComputeInstance_t h, ComputeInstanceHandle(g, gi, ci));
  Status st = FromNvml(
      Call(fn().nvmlComputeInstanceDestroy, h),
      fmt::format("GPU {}: destroying compute instance {} of GPU instance {}", gpu, ci, gi));
  return st.ok() ? st : ExplainDestroyCi(g, *target, *it, st);
}

Status NvmlMachine::StopProcess(int gpu, uint32_t pid, int grace_ms) {
  CARVE_ASSIGN_OR_RETURN(Gpu g, ReadGpu(gpu));
  if (std::none_of(g.processes.begin(), g.processes.end(), [&](auto& p) { return p.pid == pid; })) {
    RefusalFacts f = FactsOf(g);
    f.id = pid;
    return Refuse(Refusal::kNoProcess, f);
  }
  if (fn().carveSimStopProcess)  // the drop-in: the simulator stops its own processes
    return FromNvml(
        fn().carveSimStopProcess(static_cast<unsigned>(gpu), pid, static_cast<unsigned>(grace_ms)),
        fmt::format("GPU {}: stopping process {}", gpu, pid));
  if (::kill(static_cast<pid_t>(pid), SIGTERM) != 0 && errno != ESRCH)
    return Status::Error(Code::kNoPermission,
                         fmt::format("cannot stop process {}: {}", pid, std::strerror(errno)),
                         "Run carve as root, or as the user who owns that process.");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (::kill(static_cast<pid_t>(pid), 0) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // waiting on another process
  if (::kill(static_cast<pid_t>(pid), 0) == 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
  return Status::Ok();
}

}  // namespace carve::device::nvml
