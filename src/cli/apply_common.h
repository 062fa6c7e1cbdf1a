// Shared by the layout verbs (carve apply, assert, export).
#pragma once

#include <string>

#include "cli/cli.h"

namespace carve::cli {

// The whole of a layout file (bounded: util/read_file.h); kNotFound naming it
// when it does not exist.
Result<std::string> ReadLayoutText(const std::string& path);
// Where the apply journal lives: `flag` (--state-dir) when given, else
// SIMFILE.d next to the simulator's state file, else /var/lib/carve.
std::string StateDirFor(const Globals& g, const std::string& flag);

}  // namespace carve::cli
