#include "serve/command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace carve::serve {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;

int MillisLeft(std::chrono::steady_clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                  std::chrono::steady_clock::now())
                .count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// Reads `fd` until every writer is gone or the deadline; false on the deadline.
bool ReadAll(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, MillisLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) return true;
    if (out.size() < kMaxOutput)
      out.append(buf, std::min(static_cast<size_t>(got), kMaxOutput - out.size()));
  }
}

// Waits for `child` to exit by the deadline: its wait status, or -1.
int WaitChild(const Child& child, std::chrono::steady_clock::time_point deadline) {
  pollfd p{child.pidfd, POLLIN, 0};
  while (::poll(&p, 1, MillisLeft(deadline)) < 0 && errno == EINTR) {
  }
  return Reap(child.pid);
}

}  // namespace

Result<CommandResult> RunCommand(const CommandRequest& r) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return Status::Io(fmt::format("pipe: {}", std::strerror(errno)));
  SpawnRequest spawn{r.argv, r.env, "/", r.user, fds[1]};
  auto child = Spawn(spawn);
  ::close(fds[1]);
  if (!child.ok()) {
    ::close(fds[0]);
    return child.status();
  }
  auto deadline = std::chrono::steady_clock::now() + r.timeout;
  CommandResult out;
  bool done = ReadAll(fds[0], out.output, deadline);
  ::close(fds[0]);
  int status = done ? WaitChild(*child, deadline) : -1;
  ::close(child->pidfd);
  KillGroupAndWait(child->pid, std::chrono::milliseconds(5000));  // what it left behind
  if (status < 0) {
    int ignored;
    ::waitpid(child->pid, &ignored, 0);
    return Status::Error(Code::kTimeout,
                         fmt::format("`{}` did not finish within {} s", fmt::join(r.argv, " "),
                                     r.timeout.count() / 1000));
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

}  // namespace carve::serve
