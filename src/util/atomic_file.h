// Replacing a file so that readers see the old contents or the new, never a
// mix, and (with `durable`) so that the new contents survive a crash.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace carve {

// Writes `text` to PATH.tmp.PID, then renames it over `path`. With `durable`
// the file and its directory are fsync'd, for journals and machine state.
Status WriteFileAtomically(const std::string& path, std::string_view text, bool durable);

}  // namespace carve
