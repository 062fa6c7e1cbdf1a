// A slice named by where it is, not by its MIG UUID: "0:3g.40gb@4" (GPU
// index, profile, placement start) or "0" (the whole GPU). Where stays when
// the slice is re-created (a reboot, carve apply); the MIG UUID does not, so
// scripts name slices this way and look the UUID up when they run
// (`carve gpus --uuid`, `carve render docker`).
#pragma once

#include <string>
#include <vector>

#include "device/machine.h"
#include "util/status.h"

namespace carve::device {

struct SliceRef {
  int gpu = 0;
  std::string profile;  // "" for the whole GPU
  int start = 0;
  std::string str() const;  // "0:3g.40gb@4", "0"
};

// kInvalidArgument, with the form to write, for anything else.
Result<SliceRef> ParseSliceRef(const std::string& text);

// What `ref` is on the machine now: its GPU instance and the MIG UUID its
// first compute instance has (the GPU's UUID for a whole GPU). kNotFound
// naming what the GPU holds instead.
struct FoundSlice {
  const GpuInstance* gi = nullptr;  // into `gpus`; null for a whole GPU
  std::string uuid;
};
Result<FoundSlice> FindSlice(const std::vector<Gpu>& gpus, const SliceRef& ref);

}  // namespace carve::device
