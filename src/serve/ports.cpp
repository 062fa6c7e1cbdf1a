#include "serve/ports.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace carve::serve {

PortAllocator::PortAllocator(int first, int last) : first_(first), last_(last), next_(first) {}

Result<int> PortAllocator::Acquire() {
  util::MutexLock lock(mu_);
  int span = last_ - first_ + 1;
  for (int i = 0; i < span; ++i) {
    int port = next_;
    next_ = next_ == last_ ? first_ : next_ + 1;
    if (held_.count(port) || !PortIsFree(port)) continue;
    held_.insert(port);
    return port;
  }
  return Status::Insufficient(fmt::format("no free port in {}-{} for an engine", first_, last_),
                              "Stop what holds them, or give carve another range.");
}

Status PortAllocator::AcquireFixed(int port) {
  util::MutexLock lock(mu_);
  if (held_.count(port))
    return Status::InUse(fmt::format("port {} is already given to another replica", port),
                         "Give each replica its own port, or leave the port out.");
  if (!PortIsFree(port))
    return Status::InUse(fmt::format("port {} is already taken by another process", port),
                         fmt::format("Free it (ss -ltnp 'sport = :{}' shows who has it), or "
                                     "leave the port out and carve picks a free one.",
                                     port));
  held_.insert(port);
  return Status::Ok();
}

void PortAllocator::Release(int port) {
  util::MutexLock lock(mu_);
  held_.erase(port);
}

bool PortIsFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok =
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 && ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

bool LogSaysAddressInUse(const std::string& log_tail) {
  std::string s = log_tail;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  // "[Errno 98] Address already in use" (Python), "address in use", "EADDRINUSE".
  return s.find("address already in use") != std::string::npos ||
         s.find("address in use") != std::string::npos || s.find("eaddrinuse") != std::string::npos;
}

}  // namespace carve::serve
