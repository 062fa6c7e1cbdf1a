// TEMPORARY (branch `plan` only): the lead's main provides the real
// OpenMachine with the simulator and NVML backends; drop this file at merge.
#include "cli/machine_open.h"

namespace carve::cli {

Result<std::unique_ptr<device::Machine>> OpenMachine(const Globals&) {
  return Status::Error(Code::kUnavailable, "no backend yet",
                       "Give the fleet in the spec (fleet:), with --fleet h100-80gb:8, or with --nodes FILE.");
}

}  // namespace carve::cli
