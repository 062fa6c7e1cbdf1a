#include "serve/process.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "serve/access.h"

extern char** environ;

namespace carve::serve {
namespace {

// What the child reports through the exec pipe when a step fails.
struct ChildError {
  int step;
  int err;
};
constexpr const char* kSteps[] = {"setpgid", "prctl",  "/dev/null", "dup2", "setgroups",
                                  "setgid",  "setuid", "chdir",     "exec"};

Result<EngineUser> FromPasswd(const passwd& pw) {
  EngineUser u{pw.pw_name, pw.pw_uid, pw.pw_gid, {}, pw.pw_dir ? pw.pw_dir : "", false};
  int n = 64;
  u.groups.resize(n);
  if (::getgrouplist(pw.pw_name, pw.pw_gid, u.groups.data(), &n) < 0) {
    u.groups.resize(n);
    ::getgrouplist(pw.pw_name, pw.pw_gid, u.groups.data(), &n);
  }
  u.groups.resize(n);
  return u;
}

const passwd* LookUp(const std::string& name, uid_t uid, passwd& pw, std::vector<char>& buf) {
  passwd* out = nullptr;
  buf.resize(16384);
  if (name.empty())
    ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &out);
  else
    ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &out);
  return out;
}

[[noreturn]] void ChildFail(int pipe_fd, int step) {
  ChildError e{step, errno};
  ssize_t ignored = ::write(pipe_fd, &e, sizeof(e));
  (void)ignored;
  ::_exit(127);
}

// Runs in the forked child: async-signal-safe calls only, no allocation.
[[noreturn]] void ChildMain(const SpawnRequest& r, const char* path, char* const* argv,
                            char* const* envp, pid_t parent, int err_fd) {
  if (::setpgid(0, 0) != 0) ChildFail(err_fd, 0);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0) ChildFail(err_fd, 2);
  if (::dup2(null_fd, 0) < 0 || ::dup2(r.output_fd, 1) < 0 || ::dup2(r.output_fd, 2) < 0)
    ChildFail(err_fd, 3);
  if (r.user.switch_to) {
    if (::setgroups(r.user.groups.size(), r.user.groups.data()) != 0) ChildFail(err_fd, 4);
    if (::setgid(r.user.gid) != 0) ChildFail(err_fd, 5);
    if (::setuid(r.user.uid) != 0) ChildFail(err_fd, 6);
  }
  // After the user switch: changing credentials clears the parent-death signal.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFail(err_fd, 1);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took hold
  if (::chdir(r.cwd.c_str()) != 0) ChildFail(err_fd, 7);
  // Descriptors carve forgot to mark close-on-exec must not leak into engines.
  if (err_fd > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(err_fd - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(err_fd + 1), ~0u, 0u);
  ::execve(path, argv, envp);
  ChildFail(err_fd, 8);
}

std::vector<char*> CStrings(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (std::string& w : words) out.push_back(w.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Result<EngineUser> ResolveEngineUser(const std::string& requested) {
  passwd pw{};
  std::vector<char> buf;
  if (::geteuid() != 0) {
    const passwd* me = LookUp("", ::geteuid(), pw, buf);
    std::string my_name = me ? me->pw_name : std::to_string(::geteuid());
    if (!requested.empty() && requested != my_name)
      return Status::Error(
          Code::kNoPermission,
          fmt::format("carve runs as {} and cannot start engines as {}", my_name, requested),
          "Run carve as root, or leave the user out.");
    if (!me) return EngineUser{my_name, ::geteuid(), ::getegid(), {}, "", false};
    return FromPasswd(*me);
  }
  std::string name = requested.empty() ? "carve" : requested;
  const passwd* found = LookUp(name, 0, pw, buf);
  if (!found)
    return Status::NotFound(fmt::format("user {} does not exist; engines never run as root", name),
                            name == "carve"
                                ? "Run scripts/install-deps (it creates the carve user), or name "
                                  "another user in the spec."
                                : "Create the user, or name another one in the spec.");
  if (found->pw_uid == 0)
    return Status::Error(Code::kNoPermission,
                         fmt::format("user {} is root; engines never run as root", name),
                         "Name an unprivileged user in the spec (default: carve).");
  auto u = FromPasswd(*found);
  if (u.ok()) u->switch_to = true;
  return u;
}

Result<EngineUser> CarveUser() {
  passwd pw{};
  std::vector<char> buf;
  const passwd* me = LookUp("", ::geteuid(), pw, buf);
  if (!me) return EngineUser{std::to_string(::geteuid()), ::geteuid(), ::getegid(), {}, "", false};
  return FromPasswd(*me);
}

Result<EngineUser> LaunchUser(const ReplicaSpec& spec) {
  return spec.launcher == Launcher::kDocker ? CarveUser() : ResolveEngineUser(spec.user);
}

Status PrepareDir(const std::string& dir, const EngineUser& user) {
  CARVE_RETURN_IF_ERROR(CreateSearchableDirs(std::filesystem::absolute(dir).string()));
  if (user.switch_to && ::chown(dir.c_str(), user.uid, user.gid) != 0)
    return Status::Io(
        fmt::format("cannot give {} to {}: {}", dir, user.name, std::strerror(errno)));
  if (::chmod(dir.c_str(), 0750) != 0)
    return Status::Io(fmt::format("cannot chmod {}: {}", dir, std::strerror(errno)));
  return Status::Ok();
}

std::string FindProgram(const std::string& name, const std::map<std::string, std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  auto it = env.find("PATH");
  std::stringstream path(it != env.end() ? it->second : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(path, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

Result<Child> Spawn(const SpawnRequest& r) {
  std::string path = FindProgram(r.argv.at(0), r.env);
  if (path.empty())
    return Status::NotFound(fmt::format("cannot start engine: {} is not on PATH", r.argv[0]),
                            "Install it, or give its full path in the spec.");
  std::vector<std::string> argv_s = r.argv, env_s;
  for (const auto& [k, v] : r.env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv = CStrings(argv_s), envp = CStrings(env_s);
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Status::Io(std::strerror(errno));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Status::Io(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) ChildMain(r, path.c_str(), argv.data(), envp.data(), parent, err_pipe[1]);
  ::close(err_pipe[1]);
  ::setpgid(pid, pid);  // also here, so a signal to the group cannot precede the child's own
  ChildError e{};
  ssize_t n;
  do n = ::read(err_pipe[0], &e, sizeof(e));
  while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == sizeof(e)) {
    int status;
    ::waitpid(pid, &status, 0);
    return Status::Io(
        fmt::format("cannot start {}: {}: {}", r.argv[0], kSteps[e.step], std::strerror(e.err)));
  }
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return Status::Io(fmt::format("pidfd_open: {}", std::strerror(errno)));
  return Child{pid, pidfd};
}

int Reap(pid_t pid) {
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  return r == pid ? status : -1;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return fmt::format("exit {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("signal {} ({})", WTERMSIG(status), ::strsignal(WTERMSIG(status)));
  return fmt::format("status {}", status);
}

std::vector<pid_t> LiveGroupMembers(pid_t pgid) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (!proc) return out;
  while (const dirent* d = ::readdir(proc)) {
    if (!std::isdigit(static_cast<unsigned char>(d->d_name[0]))) continue;
    std::ifstream in(fmt::format("/proc/{}/stat", d->d_name));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');  // the command may hold spaces and parentheses
    if (close == std::string::npos || close + 2 > stat.size()) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state;
    pid_t ppid, pgrp;
    if (rest >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z' && state != 'X')
      out.push_back(std::atoi(d->d_name));
  }
  ::closedir(proc);
  return out;
}

namespace {

// Inodes of sockets listening on `port` ("0A" is TCP_LISTEN in /proc/net/tcp).
std::set<std::string> ListeningInodes(int port) {
  std::set<std::string> out;
  std::string want = fmt::format(":{:04X}", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string slot, local, remote, st, queues, timer, retr, uid, timeout, inode;
      f >> slot >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (st == "0A" && local.size() > want.size() &&
          local.compare(local.size() - want.size(), want.size(), want) == 0)
        out.insert(inode);
    }
  }
  return out;
}

bool HoldsSocket(pid_t pid, const std::set<std::string>& inodes) {
  std::string dir = fmt::format("/proc/{}/fd", pid);
  DIR* fds = ::opendir(dir.c_str());
  if (!fds) return false;
  bool found = false;
  while (const dirent* d = ::readdir(fds)) {
    char target[64];
    ssize_t n = ::readlinkat(::dirfd(fds), d->d_name, target, sizeof(target) - 1);
    if (n <= 8 || std::strncmp(target, "socket:[", 8) != 0) continue;
    found = inodes.count(std::string(target + 8, n - 9)) > 0;  // "socket:[INODE]"
    if (found) break;
  }
  ::closedir(fds);
  return found;
}

}  // namespace

bool GroupListensOn(pid_t pgid, int port) {
  std::set<std::string> inodes = ListeningInodes(port);
  if (inodes.empty()) return false;
  for (pid_t pid : LiveGroupMembers(pgid))
    if (HoldsSocket(pid, inodes)) return true;
  return false;
}

void KillGroupAndWait(pid_t pgid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  ::kill(-pgid, SIGKILL);
  while (!LiveGroupMembers(pgid).empty() && std::chrono::steady_clock::now() < deadline)
    ::poll(nullptr, 0, 10);  // bounded: there is no event for "a group is empty"
}

std::map<std::string, std::string> EngineEnvironment(
    const std::map<std::string, std::string>& overrides, const EngineUser& user) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (user.switch_to) {
    env["HOME"] = user.home;
    env["USER"] = env["LOGNAME"] = user.name;
  }
  for (const auto& [k, v] : overrides) env[k] = v;
  return env;
}

}  // namespace carve::serve
