#include "util/read_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace carve {
namespace {

std::string Size(size_t bytes) {
  if (bytes >= (size_t{1} << 20) && bytes % (size_t{1} << 20) == 0)
    return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

Status OpenError(const std::string& path, std::string_view what, int err) {
  std::string message = fmt::format("cannot read {} {}: {}", what, path, std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return Status::NotFound(message, "Check the path.");
  return Status::InvalidArgument(message, "Check the path and that this user may read it.");
}

// Refuses what is not a regular file: a device or a pipe may never end, and a
// pipe cannot even be opened without a writer unless O_NONBLOCK, used below.
Status CheckRegular(const struct stat& st, const std::string& path, std::string_view what) {
  if (S_ISDIR(st.st_mode))
    return Status::InvalidArgument(fmt::format("{} {} is a directory, not a file", what, path),
                                   "Give the path of the file itself.");
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument(
        fmt::format("{} {} is not a regular file (a device, pipe or socket), which might never "
                    "end; carve reads only regular files",
                    what, path),
        "Save the content to a file and give that file's path.");
  return Status::Ok();
}

Status TooLarge(const std::string& path, std::string_view what, size_t max_bytes) {
  return Status::InvalidArgument(
      fmt::format("{} {} is larger than {}", what, path, Size(max_bytes)),
      fmt::format("carve reads at most {} of a {}: check that this is the right file.",
                  Size(max_bytes), what));
}

// Reads up to `limit` bytes of an open file.
Result<std::string> ReadUpTo(int fd, size_t limit, const std::string& path, std::string_view what) {
  std::string text;
  char buf[65536];
  while (text.size() < limit) {
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, limit - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Status::Io(fmt::format("cannot read {} {}: {}", what, path, std::strerror(errno)));
    if (n == 0) break;
    text.append(buf, size_t(n));
  }
  return text;
}

// Opens `path` if it is a regular file; `*st` gets its status.
Result<int> OpenRegular(const std::string& path, std::string_view what, struct stat* st) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return OpenError(path, what, errno);
  if (::fstat(fd, st) != 0) {
    int err = errno;
    ::close(fd);
    return OpenError(path, what, err);
  }
  if (Status s = CheckRegular(*st, path, what); !s.ok()) {
    ::close(fd);
    return s;
  }
  return fd;
}

}  // namespace

Result<std::string> ReadFileBounded(const std::string& path, size_t max_bytes,
                                    std::string_view what) {
  struct stat st {};
  CARVE_ASSIGN_OR_RETURN(int fd, OpenRegular(path, what, &st));
  if (uint64_t(st.st_size) > max_bytes) {
    ::close(fd);
    return TooLarge(path, what, max_bytes);
  }
  // One byte past the bound tells a file that grew since fstat.
  auto text = ReadUpTo(fd, max_bytes + 1, path, what);
  ::close(fd);
  if (text.ok() && text->size() > max_bytes) return TooLarge(path, what, max_bytes);
  return text;
}

Result<std::string> ReadFileHead(const std::string& path, size_t max_bytes, std::string_view what,
                                 uint64_t* size) {
  struct stat st {};
  CARVE_ASSIGN_OR_RETURN(int fd, OpenRegular(path, what, &st));
  *size = uint64_t(st.st_size);
  auto head = ReadUpTo(fd, max_bytes, path, what);
  ::close(fd);
  return head;
}

}  // namespace carve
