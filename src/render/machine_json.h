// The documented JSON shapes of a machine (docs/cli.md): `carve gpus --json`
// and `carve mig list --json` share this one.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "device/machine.h"

namespace carve::render {

nlohmann::ordered_json GpuJson(const device::Gpu& gpu);
nlohmann::ordered_json GpusJson(const std::vector<device::Gpu>& gpus);

}  // namespace carve::render
