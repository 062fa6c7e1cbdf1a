// Layout files: the `gpus:` section of carve.yaml, and mig-parted's v1 config
// (mig_parted.h), read into per-GPU target layouts for a given machine, and
// a machine's current state written back as either.
//
// carve.yaml (docs/apply.md):
//   version: v1
//   gpus:
//     - index: 0                 # or uuid: GPU-…, model: h100-80gb, all: true
//       mig: on                  # on | off (default on when slices are given)
//       slices: [3g.40gb@4, 2g.20gb, 1c.3g.40gb@0, {slice: 3g.40gb@4, compute: [1c, 2c]}]
// src/spec reads the file (spec::GpuEntry: unknown keys, types, versions);
// this places its entries on a machine: selectors that match no GPU, two
// entries that select the same GPU and slices the GPU cannot hold are errors
// naming FILE:LINE.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "apply/target.h"
#include "device/machine.h"
#include "spec/spec.h"
#include "util/status.h"

namespace carve::apply {

// Reads a layout file: mig-parted's format when it has `mig-configs` (then
// `config` names the one to use; it may be empty when there is only one),
// else carve.yaml. `path` is for messages.
Result<Layouts> LoadLayoutFile(std::string_view text, const std::string& path,
                               const std::string& config, const std::vector<device::Gpu>& gpus);
// The layouts a spec's `gpus:` section asks of this machine's GPUs.
Result<Layouts> LayoutsFromSpec(const spec::Spec& spec, const std::vector<device::Gpu>& gpus);
// Reads the `gpus:` section of a carve.yaml (ParseSpec, then LayoutsFromSpec).
Result<Layouts> LoadCarveLayout(std::string_view text, const std::string& path,
                                const std::vector<device::Gpu>& gpus);
// The machine's state as a carve.yaml: every GPU by index, its mode and its
// slices with starts (and compute instances where they are not the full one).
std::string WriteCarveLayout(const std::vector<device::Gpu>& gpus);

}  // namespace carve::apply
