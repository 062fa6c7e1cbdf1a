#include "device/nvml/nvml_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include "device/nvml/nvml_errors.h"

namespace carve::device::nvml {

Result<std::unique_ptr<NvmlLibrary>> NvmlLibrary::Load(const std::string& path) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return Status::Error(Code::kUnavailable,
                         fmt::format("cannot load the NVIDIA driver's NVML library {}: {}", path,
                                     why ? why : "not found"),
                         "Install the NVIDIA driver, or point LD_LIBRARY_PATH at the directory "
                         "that holds libnvidia-ml.so.1.");
  }
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary);
  lib->handle_ = handle;
#define CARVE_NVML_LOOKUP(name, args) \
  lib->fn_.name = reinterpret_cast<name##_fn>(::dlsym(handle, #name));
  CARVE_NVML_FUNCTIONS(CARVE_NVML_LOOKUP)
  CARVE_SIM_FUNCTIONS(CARVE_NVML_LOOKUP)
#undef CARVE_NVML_LOOKUP
  int rc = lib->fn_.nvmlInit_v2 ? lib->fn_.nvmlInit_v2() : Call(lib->fn_.nvmlInit);
  if (Status st = FromNvml(rc, "starting NVML"); !st.ok())
    return Status::Error(Code::kUnavailable, st.message(), st.hint());
  lib->initialised_ = true;
  char state[4096] = {};
  if (Call(lib->fn_.carveSimStatePath, state, static_cast<unsigned>(sizeof state)) == NVML_SUCCESS)
    lib->sim_state_ = state;
  return lib;
}

std::unique_ptr<NvmlLibrary> NvmlLibrary::FromFunctions(const NvmlFunctions& fn) {
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary);
  lib->fn_ = fn;
  return lib;
}

NvmlLibrary::~NvmlLibrary() {
  if (initialised_) Call(fn_.nvmlShutdown);
  if (handle_) ::dlclose(handle_);
}

}  // namespace carve::device::nvml
