#include "device/nvml/nvml_errors.h"

#include <fmt/format.h>

#include <algorithm>

#include "device/nvml/nvml_api.h"

namespace carve::device::nvml {
namespace {

constexpr std::string_view kRoot = "Run carve as root (or with sudo): MIG changes need it.";
constexpr std::string_view kDriver =
    "Check the NVIDIA driver: `nvidia-smi` should list the GPUs. Reboot after a driver upgrade.";

constexpr NvmlError kTable[] = {
    {NVML_SUCCESS, "NVML_SUCCESS", Code::kOk, "success", ""},
    {NVML_ERROR_UNINITIALIZED, "NVML_ERROR_UNINITIALIZED", Code::kInternal,
     "NVML was not initialised", "This is a bug in carve; please report it."},
    {NVML_ERROR_INVALID_ARGUMENT, "NVML_ERROR_INVALID_ARGUMENT", Code::kInvalidArgument,
     "the driver rejected an argument (a GPU, instance, profile or placement that does not exist)",
     "Check the GPU index, instance ids and profile with `carve mig list` and `carve profiles`."},
    {NVML_ERROR_NOT_SUPPORTED, "NVML_ERROR_NOT_SUPPORTED", Code::kNotSupported,
     "not supported here (MIG off or unsupported, or a profile this GPU lacks)",
     "See `carve doctor` for what this GPU supports."},
    {NVML_ERROR_NO_PERMISSION, "NVML_ERROR_NO_PERMISSION", Code::kNoPermission, "permission denied",
     kRoot},
    {NVML_ERROR_ALREADY_INITIALIZED, "NVML_ERROR_ALREADY_INITIALIZED", Code::kInternal,
     "NVML was already initialised", ""},
    {NVML_ERROR_NOT_FOUND, "NVML_ERROR_NOT_FOUND", Code::kNotFound,
     "no such object (it may have been destroyed meanwhile)",
     "See what exists now: carve mig list"},
    {NVML_ERROR_INSUFFICIENT_SIZE, "NVML_ERROR_INSUFFICIENT_SIZE", Code::kInternal,
     "a buffer was too small", "This is a bug in carve; please report it."},
    {NVML_ERROR_INSUFFICIENT_POWER, "NVML_ERROR_INSUFFICIENT_POWER", Code::kUnavailable,
     "the GPU lacks external power", "Check the GPU's power cables."},
    {NVML_ERROR_DRIVER_NOT_LOADED, "NVML_ERROR_DRIVER_NOT_LOADED", Code::kUnavailable,
     "the NVIDIA kernel driver is not loaded", kDriver},
    {NVML_ERROR_TIMEOUT, "NVML_ERROR_TIMEOUT", Code::kTimeout, "the driver timed out",
     "Try again; if it persists, check `dmesg` for GPU errors."},
    {NVML_ERROR_IRQ_ISSUE, "NVML_ERROR_IRQ_ISSUE", Code::kUnavailable,
     "the kernel reported an interrupt problem with the GPU", kDriver},
    {NVML_ERROR_LIBRARY_NOT_FOUND, "NVML_ERROR_LIBRARY_NOT_FOUND", Code::kUnavailable,
     "the NVML library was not found", kDriver},
    {NVML_ERROR_FUNCTION_NOT_FOUND, "NVML_ERROR_FUNCTION_NOT_FOUND", Code::kNotSupported,
     "this driver's NVML lacks the function", "Upgrade the NVIDIA driver."},
    {NVML_ERROR_CORRUPTED_INFOROM, "NVML_ERROR_CORRUPTED_INFOROM", Code::kUnavailable,
     "the GPU's infoROM is corrupted", "Contact your hardware vendor."},
    {NVML_ERROR_GPU_IS_LOST, "NVML_ERROR_GPU_IS_LOST", Code::kUnavailable,
     "the GPU has fallen off the bus or is otherwise lost", "Reset the GPU or reboot the host."},
    {NVML_ERROR_RESET_REQUIRED, "NVML_ERROR_RESET_REQUIRED", Code::kResetRequired,
     "the GPU needs a reset (or, in a VM, a reboot) first",
     "Stop every process on the GPU, then reset it: sudo nvidia-smi -r -i <index>"},
    {NVML_ERROR_OPERATING_SYSTEM, "NVML_ERROR_OPERATING_SYSTEM", Code::kNoPermission,
     "the operating system blocked access to the GPU", kRoot},
    {NVML_ERROR_LIB_RM_VERSION_MISMATCH, "NVML_ERROR_LIB_RM_VERSION_MISMATCH", Code::kUnavailable,
     "the NVML library and the kernel driver are different versions",
     "Reboot (or reload the nvidia kernel modules) after the driver upgrade."},
    {NVML_ERROR_IN_USE, "NVML_ERROR_IN_USE", Code::kInUse,
     "in use (compute instances or processes still hold it)",
     "Stop the processes and destroy the compute instances first; see carve mig list."},
    {NVML_ERROR_MEMORY, "NVML_ERROR_MEMORY", Code::kInsufficientResources, "not enough memory",
     "Free GPU or host memory and try again."},
    {NVML_ERROR_NO_DATA, "NVML_ERROR_NO_DATA", Code::kNotFound, "the driver has no data for this",
     ""},
    {NVML_ERROR_VGPU_ECC_NOT_SUPPORTED, "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED", Code::kNotSupported,
     "not supported on a vGPU with ECC on", ""},
    {NVML_ERROR_INSUFFICIENT_RESOURCES, "NVML_ERROR_INSUFFICIENT_RESOURCES",
     Code::kInsufficientResources,
     "no room: the placement is taken, the profile's maximum is reached, or its engines are in use",
     "See what still fits, and where: carve profiles"},
    {NVML_ERROR_FREQ_NOT_SUPPORTED, "NVML_ERROR_FREQ_NOT_SUPPORTED", Code::kNotSupported,
     "frequency not supported", ""},
    {NVML_ERROR_ARGUMENT_VERSION_MISMATCH, "NVML_ERROR_ARGUMENT_VERSION_MISMATCH",
     Code::kNotSupported, "this driver does not know the structure version carve sent",
     "Upgrade the NVIDIA driver."},
    {NVML_ERROR_DEPRECATED, "NVML_ERROR_DEPRECATED", Code::kNotSupported,
     "the driver no longer supports this call", "Upgrade carve."},
    {NVML_ERROR_NOT_READY, "NVML_ERROR_NOT_READY", Code::kUnavailable, "the GPU is not ready yet",
     "Wait a moment and try again."},
    {NVML_ERROR_GPU_NOT_FOUND, "NVML_ERROR_GPU_NOT_FOUND", Code::kNotFound, "the GPU was not found",
     "See the GPUs: carve gpus"},
    {NVML_ERROR_INVALID_STATE, "NVML_ERROR_INVALID_STATE", Code::kInUse,
     "the GPU is in a state that does not allow this now",
     "Check pending MIG modes and running processes: carve doctor"},
    {NVML_ERROR_RESET_TYPE_NOT_SUPPORTED, "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED",
     Code::kNotSupported, "this kind of reset is not supported", ""},
    {NVML_ERROR_UNKNOWN, "NVML_ERROR_UNKNOWN", Code::kUnknown,
     "the driver reported an unknown error", "Check `dmesg` and `nvidia-smi`; retry once."},
};

}  // namespace

std::span<const NvmlError> ErrorTable() { return kTable; }

NvmlError LookupError(int rc) {
  auto it = std::find_if(std::begin(kTable), std::end(kTable),
                         [rc](const NvmlError& e) { return e.rc == rc; });
  if (it != std::end(kTable)) return *it;
  return {rc, "an NVML code carve does not know", Code::kUnknown,
          "the driver returned a code carve does not know", "Upgrade carve."};
}

Status FromNvml(int rc, std::string_view what) {
  if (rc == NVML_SUCCESS) return Status::Ok();
  NvmlError e = LookupError(rc);
  std::string name =
      e.name.starts_with("NVML_") ? std::string(e.name) : fmt::format("NVML code {}", rc);
  return Status::Error(e.code, fmt::format("{}: {} ({})", what, e.text, name), std::string(e.hint));
}

}  // namespace carve::device::nvml
