// mig-parted's v1 config (github.com/NVIDIA/mig-parted, api/spec/v1), read
// with the meaning mig-parted gives it and written from a machine's state.
//
//   version: v1
//   mig-configs:
//     NAME:
//       - devices: all | [0, 1]          # GPU indices
//         device-filter: 0x233010DE      # optional: PCI device id(s), string or list
//         mig-enabled: true
//         mig-devices: {"3g.40gb": 1, "1g.10gb": 4, "1c.3g.40gb": 3}
//
// GPUs no entry selects are left alone (as mig-parted does). mig-parted has
// no placements: carve places the slices (keeping what the GPU already holds
// when it fits, see diff.h). Like mig-parted, compute-instance devices of one
// profile ("1c.3g.40gb": 3) share a GPU instance until it is full.
// Differences, on purpose: two entries selecting the same GPU are an error
// (mig-parted lets the later one win), and a device-filter's subsystem id
// (":0x…", new in mig-parted 0.15) is not compared.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "apply/target.h"
#include "device/machine.h"
#include "util/status.h"

namespace carve::apply {

// The layouts of the named config (`config` may be empty when the file has
// only one). Errors name FILE:LINE and list the configs the file has.
Result<Layouts> LoadMigParted(std::string_view text, const std::string& path,
                              const std::string& config, const std::vector<device::Gpu>& gpus);
// The machine's state as a mig-parted config named `name`; GPUs with equal
// contents share one entry. Placements are lost (mig-parted has none).
std::string WriteMigParted(const std::vector<device::Gpu>& gpus, const std::string& name);

}  // namespace carve::apply
