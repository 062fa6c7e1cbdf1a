// NvmlLibrary: libnvidia-ml.so.1 loaded with dlopen, its functions looked up
// with dlsym, and NVML initialised for the object's lifetime. A function this
// driver lacks stays null; Call() answers NVML_ERROR_FUNCTION_NOT_FOUND for
// it, so callers fall back from versioned names (…_v3, …_v2) to older ones.
// Not thread-safe; one NvmlMachine owns one.
#pragma once

#include <memory>
#include <string>

#include "device/nvml/nvml_api.h"
#include "util/status.h"

namespace carve::device::nvml {

struct NvmlFunctions {
#define CARVE_NVML_MEMBER(name, args) name##_fn name = nullptr;
  CARVE_NVML_FUNCTIONS(CARVE_NVML_MEMBER)
  CARVE_SIM_FUNCTIONS(CARVE_NVML_MEMBER)
#undef CARVE_NVML_MEMBER
};

class NvmlLibrary {
 public:
  // Loads `path` ("libnvidia-ml.so.1": the loader's search path) and calls
  // nvmlInit_v2 (nvmlInit on old drivers). kUnavailable when the library is
  // missing or NVML does not start, with what to do about it.
  static Result<std::unique_ptr<NvmlLibrary>> Load(const std::string& path);
  // A library made of `fn` (tests: a fake NVML). No dlopen, no nvmlInit.
  static std::unique_ptr<NvmlLibrary> FromFunctions(const NvmlFunctions& fn);
  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  const NvmlFunctions& fn() const { return fn_; }
  // The state file when the library is carve's drop-in over the simulator.
  const std::string& sim_state() const { return sim_state_; }

 private:
  NvmlLibrary() = default;
  void* handle_ = nullptr;
  bool initialised_ = false;
  NvmlFunctions fn_;
  std::string sim_state_;
};

// Calls `f` when the library has it.
template <typename F, typename... A>
int Call(F f, A... args) {
  return f ? f(args...) : NVML_ERROR_FUNCTION_NOT_FOUND;
}

}  // namespace carve::device::nvml
