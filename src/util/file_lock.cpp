#include "util/file_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace carve {

Result<FileLock> FileLock::Acquire(const std::string& path, bool wait) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Status::Io(fmt::format("cannot open lock file {}: {}", path, std::strerror(errno)),
                      "Check that its directory exists and is writable.");
  while (::flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    char holder[256] = {};
    ssize_t n = ::pread(fd, holder, sizeof(holder) - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK)
      return Status::Error(Code::kBusy,
                           fmt::format("another carve is changing this machine{}",
                                       n > 0 ? fmt::format(" ({})", holder) : ""),
                           "Wait for it to finish, then run this again.");
    return Status::Io(fmt::format("cannot lock {}: {}", path, std::strerror(err)));
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  if (::ftruncate(fd_, 0) != 0) {
    // A stale note only makes a later "busy" message name a finished holder.
  }
  ::close(fd_);  // closing releases the lock
}

void FileLock::Note(const std::string& holder) {
  if (fd_ < 0) return;
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, holder.data(), holder.size(), 0) < 0) {
    // The note is a courtesy for error messages; the lock holds without it.
  }
}

}  // namespace carve
