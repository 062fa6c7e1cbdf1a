#include "serve/access.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace carve::serve {

int AccessAs(const EngineUser& user, const std::string& path, int mode) {
  if (!user.switch_to) return ::access(path.c_str(), mode) == 0 ? 0 : errno;
  const char* p = path.c_str();
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) {  // async-signal-safe calls only: carve has other threads
    if (::setgroups(user.groups.size(), user.groups.data()) != 0 || ::setgid(user.gid) != 0 ||
        ::setuid(user.uid) != 0)
      ::_exit(255);
    ::_exit(::access(p, mode) == 0 ? 0 : (errno & 0xff));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 255) return EPERM;
  return WEXITSTATUS(status);
}

std::string FirstUnsearchable(const EngineUser& user, const std::string& path) {
  std::filesystem::path so_far = "/";
  auto blocked = [&] { return AccessAs(user, so_far.string(), X_OK) == EACCES; };
  for (const auto& part : std::filesystem::path(path).relative_path()) {
    if (blocked()) return so_far.string();
    so_far /= part;
  }
  std::error_code ec;
  return std::filesystem::is_directory(so_far, ec) && blocked() ? so_far.string() : "";
}

Status CreateSearchableDirs(const std::string& dir) {
  std::filesystem::path so_far = "/";
  for (const auto& part : std::filesystem::path(dir).relative_path()) {
    so_far /= part;
    if (::mkdir(so_far.c_str(), 0755) == 0) {
      ::chmod(so_far.c_str(), 0755);  // the umask took bits off
    } else if (errno != EEXIST) {
      return Status::Io(fmt::format("cannot create {}: {}", so_far.string(), std::strerror(errno)));
    }
  }
  return Status::Ok();
}

std::string ModeAndOwner(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  const passwd* pw = ::getpwuid(st.st_uid);
  const group* gr = ::getgrgid(st.st_gid);
  return fmt::format("{:04o} {}:{}", st.st_mode & 07777,
                     pw ? pw->pw_name : std::to_string(st.st_uid),
                     gr ? gr->gr_name : std::to_string(st.st_gid));
}

}  // namespace carve::serve
