// The one spelling of a file format's version across carve: YAML
// `version: v1`, JSON `"version": "v1"` (carve.yaml, layout files, the
// gateway config, the apply journal and record, status.json, the simulator's
// state). Readers also accept what earlier releases wrote; each names those
// spellings where it reads them. docs/architecture.md lists the formats.
#pragma once

namespace carve {

inline constexpr const char* kFormatVersion = "v1";

}  // namespace carve
