// Boot persistence: a systemd oneshot unit that re-applies a layout at every
// boot. GPU and compute instances never survive a reboot, and from Hopper on
// neither does MIG mode, so the layout has to be made again each time, before
// anything that uses the GPUs starts (docs/apply.md "Boot persistence").
#pragma once

#include <string>
#include <vector>

#include "util/status.h"

namespace carve::apply {

inline constexpr const char* kUnitName = "carve-apply.service";
inline constexpr const char* kDefaultUnitDir = "/etc/systemd/system";

struct UnitOptions {
  std::string carve;                 // absolute path of the carve binary
  std::vector<std::string> globals;  // e.g. {"--sim", "/abs/machine.json"}
  std::string layout;                // absolute path of the layout it applies
  std::string config;                // -c NAME for a mig-parted layout
  std::string state_dir;
};

// The unit file's text.
std::string BootUnit(const UnitOptions& o);
// The argv of the unit's ExecStart (what tests run after a simulated reboot).
std::vector<std::string> BootCommand(const UnitOptions& o);
// Writes DIR/carve-apply.service and enables it the way `systemctl enable`
// does (DIR/multi-user.target.wants/carve-apply.service → the unit).
Status InstallUnit(const std::string& dir, const std::string& text);
// Removes both; Ok when they are not there.
Status UninstallUnit(const std::string& dir);

}  // namespace carve::apply
