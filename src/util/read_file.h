// Reading a file that a person handed to carve (a spec, a layout, a config, a
// model's files) or that carve keeps (a journal, a simulator's state), with a
// bound on what is read: /dev/zero, a FIFO or a runaway file ends in an error
// that says so, never in a hang or in memory exhausted.
//
// Only regular files are read (after following symlinks): a device or a pipe
// may never end, and its size is not known up front. Errors:
//   kNotFound         no such file ("cannot read WHAT PATH: …")
//   kInvalidArgument  a directory, a device, a pipe or socket, a file larger
//                     than the bound, or one carve may not open
//   kIo               the read itself failed
// Messages name `what` and the path, and say what to do. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace carve {

// For YAML and JSON that people write or carve keeps: specs, layouts, configs,
// node lists, journals. The largest real ones are a few hundred KiB.
inline constexpr size_t kMaxConfigBytes = size_t{16} << 20;

// The whole of `path`, refused when it holds more than `max_bytes`.
Result<std::string> ReadFileBounded(const std::string& path, size_t max_bytes,
                                    std::string_view what);

// The first `max_bytes` of `path` (all of it when shorter), for headers of
// files too large to read whole (GGUF). `*size` gets the file's size.
Result<std::string> ReadFileHead(const std::string& path, size_t max_bytes, std::string_view what,
                                 uint64_t* size);

}  // namespace carve
