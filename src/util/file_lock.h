// An exclusive flock(2) on a file, held for the object's lifetime. Used for
// the simulator's state file and for "one carve changes a machine at a time".
#pragma once

#include <string>

#include "util/status.h"

namespace carve {

class FileLock {
 public:
  // Takes the lock on `path` (created if missing), waiting for it when
  // `wait`; otherwise kBusy, naming the holder recorded by `note`.
  static Result<FileLock> Acquire(const std::string& path, bool wait);

  FileLock(FileLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  FileLock& operator=(FileLock&& o) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // Records who holds the lock (shown to whoever is refused); the note is
  // cleared when the lock is released.
  void Note(const std::string& holder);

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace carve
