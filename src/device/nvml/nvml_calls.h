// NVML calls that come in versions: each tries the newest form this driver
// takes and falls back to older ones (V with a v3 struct, then v2, then v1;
// _v3, _v2, v1), and the two-call "count, then array" protocol. Used by
// NvmlMachine's reads.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "device/nvml/nvml_library.h"
#include "device/nvml/nvml_reconcile.h"

namespace carve::device::nvml {

// GPU-instance profile `index`: the V call with a v3, then a v2 struct (MIG
// on only), else the v1 call, which answers in either mode but has no name.
int ProfileInfo(const NvmlFunctions& fn, nvmlDevice_t dev, int index, bool mig_on, NvmlProfile* p);

struct CiProfile {
  int id = 0, slices = 0, max_instances = 0, sm = 0;
  std::string name;  // empty when only the v1 call answered
};
// Compute-instance profile `index` of GPU instance `gi`.
int CiProfileInfo(const NvmlFunctions& fn, nvmlGpuInstance_t gi, int index, CiProfile* p);

// Running processes of one handle: compute (v3, v2, v1) and graphics.
int RunningProcesses(const NvmlFunctions& fn, nvmlDevice_t h, std::vector<nvmlProcessInfo_t>* out);

// The two-call protocol: ask with `first` slots, grow while the answer is
// INSUFFICIENT_SIZE; `out` holds what was found.
template <typename T, typename Call>
int Enumerate(std::vector<T>* out, unsigned int first, Call call) {
  out->assign(std::max(first, 1u), T{});
  for (int tries = 0; tries < 8; ++tries) {
    unsigned int n = static_cast<unsigned int>(out->size());
    int rc = call(out->data(), &n);
    if (rc == NVML_ERROR_INSUFFICIENT_SIZE && n > out->size()) {
      out->assign(n, T{});
      continue;
    }
    out->resize(rc == NVML_SUCCESS ? std::min<size_t>(n, out->size()) : 0);
    return rc;
  }
  return NVML_ERROR_INSUFFICIENT_SIZE;
}

}  // namespace carve::device::nvml
