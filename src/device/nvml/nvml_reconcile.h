// What NVML says a GPU's MIG profiles are, set against carve's catalogue.
// NVML wins: the result is the catalogue's model corrected to what the driver
// reports, plus one plain note per difference so `carve doctor` can show it.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mig/catalog.h"

namespace carve::device::nvml {

// One GPU-instance profile as NVML reports it.
struct NvmlProfile {
  int index = 0;     // NVML_GPU_INSTANCE_PROFILE_* value
  int id = 0;        // device profile id
  std::string name;  // "1g.10gb"; empty when only the v1 call answered
  int slices = 0;
  int max_instances = 0;
  int sm = 0;
  mig::Engines engines;
  uint64_t memory_mib = 0;
  std::vector<mig::Placement> placements;
};

struct Reconciled {
  mig::GpuModel model;
  std::vector<std::string> notes;
};

// `catalogue` corrected by NVML's `profiles` and device memory. An empty
// `profiles` (NVML would not say) keeps the catalogue's table, with a note.
Reconciled Reconcile(const mig::GpuModel& catalogue, const std::vector<NvmlProfile>& profiles,
                     uint64_t memory_mib);

// "1g.10gb" from "MIG 1g.10gb".
std::string ProfileName(std::string_view nvml_name);

}  // namespace carve::device::nvml
