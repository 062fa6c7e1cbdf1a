#include "serve/log_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace carve::serve {
namespace {

std::string Rotated(const std::string& path, int i) { return fmt::format("{}.{}", path, i); }

// The last `max_bytes` of a file; "" when it cannot be read.
std::string ReadEnd(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff from = size > static_cast<std::streamoff>(max_bytes) ? size - max_bytes : 0;
  in.seekg(from);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

Result<RotatingLog> RotatingLog::Open(std::string path, LogOptions options, uid_t owner,
                                      gid_t group) {
  RotatingLog log(std::move(path), options, owner, group);
  CARVE_RETURN_IF_ERROR(log.OpenCurrent());
  return log;
}

RotatingLog::RotatingLog(RotatingLog&& o) noexcept
    : path_(std::move(o.path_)),
      options_(o.options_),
      owner_(o.owner_),
      group_(o.group_),
      fd_(o.fd_),
      size_(o.size_) {
  o.fd_ = -1;
}

RotatingLog& RotatingLog::operator=(RotatingLog&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    options_ = o.options_;
    owner_ = o.owner_;
    group_ = o.group_;
    fd_ = o.fd_;
    size_ = o.size_;
    o.fd_ = -1;
  }
  return *this;
}

RotatingLog::~RotatingLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status RotatingLog::OpenCurrent() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd_ < 0)
    return Status::Io(fmt::format("cannot open log {}: {}", path_, std::strerror(errno)));
  struct stat st {};
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  if (owner_ != static_cast<uid_t>(-1) && ::fchown(fd_, owner_, group_) != 0)
    return Status::Io(
        fmt::format("cannot give log {} to uid {}: {}", path_, owner_, std::strerror(errno)));
  return Status::Ok();
}

Status RotatingLog::Rotate() {
  ::close(fd_);
  fd_ = -1;
  if (options_.keep <= 0) {
    ::unlink(path_.c_str());
  } else {
    for (int i = options_.keep - 1; i >= 1; --i)
      std::rename(Rotated(path_, i).c_str(), Rotated(path_, i + 1).c_str());
    std::rename(path_.c_str(), Rotated(path_, 1).c_str());
  }
  return OpenCurrent();
}

Status RotatingLog::Write(std::string_view data) {
  if (size_ > 0 && size_ + data.size() > options_.max_bytes) CARVE_RETURN_IF_ERROR(Rotate());
  if (fd_ < 0) return Status::Io(fmt::format("log {} is not open", path_));
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Status::Io(fmt::format("cannot write log {}: {}", path_, std::strerror(errno)));
    data.remove_prefix(n);
    size_ += n;
  }
  return Status::Ok();
}

std::string ReadLogTail(const std::string& path, int max_lines) {
  constexpr size_t kMaxBytes = 64 << 10;  // enough for any sane tail
  std::string text = ReadEnd(path, kMaxBytes);
  if (std::count(text.begin(), text.end(), '\n') < max_lines)
    text = ReadEnd(Rotated(path, 1), kMaxBytes) + text;
  if (!text.empty() && text.back() == '\n') text.pop_back();
  size_t pos = text.size();
  for (int lines = 0; pos > 0;) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text;
    if (++lines == max_lines) return text.substr(nl + 1);
    pos = nl;
  }
  return text;
}

}  // namespace carve::serve
