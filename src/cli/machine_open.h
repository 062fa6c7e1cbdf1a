#pragma once

#include <memory>

#include "cli/cli.h"
#include "device/machine.h"
#include "util/status.h"

namespace carve::cli { Result<std::unique_ptr<device::Machine>> OpenMachine(const Globals& g); }
