// NVML return codes as carve errors: the one place where an nvmlReturn_t
// becomes a carve Code and a plain message (docs/architecture.md: NVML codes
// are translated in the nvml backend and nowhere else).
#pragma once

#include <span>
#include <string_view>

#include "util/status.h"

namespace carve::device::nvml {

struct NvmlError {
  int rc = 0;
  std::string_view name;  // "NVML_ERROR_IN_USE"
  Code code = Code::kUnknown;
  std::string_view text;  // what it means, in plain words
  std::string_view hint;  // what to do next; may be empty
};

// Every code NVML defines (NVML API reference), SUCCESS included.
std::span<const NvmlError> ErrorTable();
// The row for `rc`; codes NVML does not define get an "unknown" row.
NvmlError LookupError(int rc);
// Ok for NVML_SUCCESS; otherwise "<what>: <text> (<name>)" with the row's
// code and hint. `what` says which call failed and on what.
Status FromNvml(int rc, std::string_view what);

}  // namespace carve::device::nvml
