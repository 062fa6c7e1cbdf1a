// Sockets are plain POSIX so that one deadline bounds every step; Beast only
// parses the reply (status line, headers, content-length or chunked body).
#include "serve/http_probe.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

namespace carve::serve {
namespace http = boost::beast::http;
using Deadline = std::chrono::steady_clock::time_point;

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits for `events` on `fd` until the deadline: Ok, or kTimeout.
Status WaitFor(int fd, short events, Deadline deadline, const char* what) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Error(Code::kTimeout, fmt::format("{} timed out", what));
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return Status::Ok();
    if (n < 0 && errno != EINTR)
      return Status::Io(fmt::format("{}: {}", what, std::strerror(errno)));
  }
}

Status Connect(int fd, int port, Deadline deadline) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS) return Status::Error(Code::kUnavailable, std::strerror(errno));
    CARVE_RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline, "connect"));
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Status::Error(Code::kUnavailable, std::strerror(err));
  }
  return Status::Ok();
}

Status SendAll(int fd, std::string_view data, Deadline deadline) {
  std::string_view rest = data;
  while (!rest.empty()) {
    CARVE_RETURN_IF_ERROR(WaitFor(fd, POLLOUT, deadline, "send"));
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return Status::Io(std::strerror(errno));
    if (n > 0) rest.remove_prefix(n);
  }
  return Status::Ok();
}

Result<HttpResponse> ReadResponse(int fd, Deadline deadline) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  std::string pending;
  boost::beast::error_code ec;
  while (!parser.is_done()) {
    CARVE_RETURN_IF_ERROR(WaitFor(fd, POLLIN, deadline, "reply"));
    char buf[8192];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return Status::Io(std::strerror(errno));
    if (n == 0) {
      parser.put_eof(ec);
      if (ec) return Status::Io(fmt::format("reply cut short: {}", ec.message()));
      break;
    }
    pending.append(buf, n);
    for (size_t used = 1; used > 0 && !pending.empty() && !parser.is_done();) {
      used = parser.put(boost::asio::buffer(pending), ec);
      if (ec == http::error::need_more) ec = {};
      if (ec) return Status::Io(fmt::format("bad reply: {}", ec.message()));
      pending.erase(0, used);
    }
  }
  return HttpResponse{static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace

Result<HttpResponse> HttpGet(int port, const std::string& path, std::chrono::milliseconds timeout) {
  Deadline deadline = std::chrono::steady_clock::now() + timeout;
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Status::Io(fmt::format("socket: {}", std::strerror(errno)));
  CARVE_RETURN_IF_ERROR(Connect(fd.get(), port, deadline));
  CARVE_RETURN_IF_ERROR(
      SendAll(fd.get(),
              fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: carve-probe\r\n"
                          "Connection: close\r\n\r\n",
                          path, port),
              deadline));
  return ReadResponse(fd.get(), deadline);
}

bool ModelsListIncludes(const std::string& body, const std::string& model) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) return false;
  for (const auto& m : j["data"])
    if (m.is_object() && m.value("id", "") == model) return true;
  return false;
}

Status RunChecks(const std::vector<HttpCheck>& checks, int port, const std::string& model,
                 std::chrono::milliseconds timeout) {
  for (const HttpCheck& c : checks) {
    auto r = HttpGet(port, c.path, timeout);
    if (!r.ok()) return r.status().Prefixed(fmt::format("GET {}", c.path));
    if (r->status != 200)
      return Status::Error(Code::kUnavailable, fmt::format("GET {}: {}", c.path, r->status));
    if (c.expect_model && !ModelsListIncludes(r->body, model))
      return Status::Error(Code::kUnavailable,
                           fmt::format("GET {}: does not list \"{}\"", c.path, model));
  }
  return Status::Ok();
}

}  // namespace carve::serve
