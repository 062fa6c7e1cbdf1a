// What `carve apply` leaves behind for `carve doctor`: the layout it last
// made, on which GPUs, and the boot unit that makes it again at boot
// (STATE_DIR/applied.json). A note, not a journal: losing it loses a hint,
// never a GPU's state.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "device/checks.h"
#include "device/machine.h"
#include "util/status.h"

namespace carve::apply {

// After a successful apply of `layout` (an absolute path): the GPUs left with
// MIG on and their slice counts. Keeps the boot unit already recorded.
Status RecordApplied(const std::string& state_dir, const std::string& layout,
                     const std::vector<device::Gpu>& gpus);
// After `--install` of `layout` (unit_path: the unit written) or `--uninstall`
// (unit_path empty).
Status RecordBootUnit(const std::string& state_dir, const std::string& layout,
                      const std::string& unit_path);
// What was recorded, with boot_unit true only while the recorded unit file
// still exists; nullopt when apply never ran with this state directory.
Result<std::optional<device::AppliedLayout>> ReadApplied(const std::string& state_dir);

}  // namespace carve::apply
