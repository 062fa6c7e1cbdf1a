// Reading profiles the way people write them: by name ("3g.40gb",
// "1g.10gb+me", "MIG 3g.40gb"), with a compute-instance sub-division
// ("1c.3g.40gb"), by nvidia-smi id ("9"), or by NVML constant ("3_SLICE",
// "NVML_GPU_INSTANCE_PROFILE_3_SLICE"); and slice lists "PROFILE[@START],…".
#pragma once

#include <string_view>
#include <vector>

#include "mig/catalog.h"
#include "mig/layout.h"
#include "util/status.h"

namespace carve::mig {

struct ProfileRef {
  const Profile* gi = nullptr;
  const ComputeProfile* ci = nullptr;  // nullptr: the GI's full (default) CI
};

// Resolves `ref` on `gpu`. Errors list what the GPU offers.
Result<ProfileRef> ResolveProfile(const GpuModel& gpu, std::string_view ref);
// Resolves a compute-instance profile inside `gi`: "1c", "1c.3g.40gb", the
// GI's own name, or the CI id ("0").
Result<const ComputeProfile*> ResolveComputeProfile(const GpuModel& gpu, const Profile& gi,
                                                    std::string_view ref);
// Parses "3g.40gb@4,19,1g.10gb" (commas or spaces) into requests.
Result<std::vector<SliceRequest>> ParseSliceList(const GpuModel& gpu, std::string_view text);

}  // namespace carve::mig
