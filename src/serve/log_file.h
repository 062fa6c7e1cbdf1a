// An engine's log: its stdout and stderr, copied by carve into a file that
// rotates by size (engine.log, engine.log.1 … engine.log.KEEP). carve, not the
// engine, writes the file, so rotation never loses or splits a write between
// an old and a new file, and the engine needs no log options.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/status.h"

namespace carve::serve {

struct LogOptions {
  size_t max_bytes = 16 << 20;  // rotate when a write would pass this
  int keep = 3;                 // rotated files kept
};

// Not thread-safe: one writer (the replica's thread).
class RotatingLog {
 public:
  // Opens (appends to) `path`. Files are chowned to `owner`/`group` unless
  // they are -1. kIo naming the path when it cannot be opened.
  static Result<RotatingLog> Open(std::string path, LogOptions options, uid_t owner = -1,
                                  gid_t group = -1);

  RotatingLog(RotatingLog&& o) noexcept;
  RotatingLog& operator=(RotatingLog&& o) noexcept;
  RotatingLog(const RotatingLog&) = delete;
  RotatingLog& operator=(const RotatingLog&) = delete;
  ~RotatingLog();

  // Appends `data`, rotating first when it would pass max_bytes.
  Status Write(std::string_view data);
  const std::string& path() const { return path_; }

 private:
  RotatingLog(std::string path, LogOptions options, uid_t owner, gid_t group)
      : path_(std::move(path)), options_(options), owner_(owner), group_(group) {}
  Status OpenCurrent();
  Status Rotate();

  std::string path_;
  LogOptions options_;
  uid_t owner_;
  gid_t group_;
  int fd_ = -1;
  size_t size_ = 0;
};

// The last `max_lines` lines of the log at `path`, reaching into path.1 when
// the current file is shorter; "" when there is none.
std::string ReadLogTail(const std::string& path, int max_lines);

}  // namespace carve::serve
