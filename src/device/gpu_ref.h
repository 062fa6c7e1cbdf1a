// Naming GPUs the way nvidia-smi's -i does: by index ("0"), by UUID or a
// unique prefix of one ("GPU-5f0c…", any case), or by PCI bus id in the forms
// nvidia-smi takes ("00000000:17:00.0", "0000:17:00.0", "17:00.0"). Pure: it
// looks only at the GPUs it is given.
#pragma once

#include <string>
#include <vector>

#include "device/machine.h"

namespace carve::device {

// The indices of the GPUs `refs` name, in the order given, each once (two
// names for one GPU are one GPU). kInvalidArgument for a name of no form above
// or a UUID prefix that fits several GPUs (naming them); kNotFound for a GPU
// that is not there. Both list the GPUs that are, in the hint.
Result<std::vector<int>> ResolveGpuRefs(const std::vector<Gpu>& gpus,
                                        const std::vector<std::string>& refs);

}  // namespace carve::device
