#include "serve/preflight.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "serve/access.h"
#include "serve/command.h"
#include "serve/docker.h"
#include "serve/ports.h"

namespace carve::serve {
namespace {

namespace fs = std::filesystem;

// What was found, each problem once (replicas of one model share them).
struct Problems {
  std::vector<std::string> lines;
  Code code = Code::kOk;
  void Add(Code c, const std::string& who, const std::string& what, const std::string& fix) {
    std::string line = fmt::format("{}: {}\n    {}", who, what, fix);
    if (std::find(lines.begin(), lines.end(), line) != lines.end()) return;
    if (code == Code::kOk) code = c;
    lines.push_back(std::move(line));
  }
  void Add(const std::string& who, const Status& s) {
    Add(s.code(), who, s.message(), s.hint().empty() ? "Fix the spec." : s.hint());
  }
};

std::string Who(const ReplicaSpec& r) {
  return fmt::format("model {}", r.id.empty() ? r.model : r.id);
}

// `user` may use `path` with `mode`, or the problem says which directory or
// file is in the way and how to open it.
void CheckReach(const std::string& who, const EngineUser& user, const std::string& path, int mode,
                const std::string& what, Problems& out) {
  int err = AccessAs(user, path, mode);
  if (err == 0) return;
  std::string blocked = FirstUnsearchable(user, path);
  if (!blocked.empty())
    return out.Add(Code::kNoPermission, who,
                   fmt::format("the engine user {} cannot reach {} ({}): {} ({}) is not searchable "
                               "by it",
                               user.name, path, what, blocked, ModeAndOwner(blocked)),
                   fmt::format("Let it through (chmod o+x {}), or move {} where {} can reach it.",
                               blocked, path, user.name));
  out.Add(Code::kNoPermission, who,
          fmt::format("the engine user {} cannot {} {} ({}): {}", user.name,
                      mode & X_OK ? "run" : "read", path, ModeAndOwner(path), std::strerror(err)),
          fmt::format("Give it access (chmod o+{} {}), or name a user that has it.",
                      mode & X_OK ? "x" : "r", path));
}

bool LoadsSource(EngineKind k) {
  return k == EngineKind::kVllm || k == EngineKind::kLlamaCpp || k == EngineKind::kSglang;
}

bool RunsVllm(const ReplicaSpec& r, const std::string& program) {
  if (r.launcher == Launcher::kDocker) return false;  // its image's vLLM
  return r.engine == EngineKind::kVllm || fs::path(program).filename() == "vllm";
}

// carve up does not pull: a large image would outlast the engine's ready
// timeout, and a pull is the person's call.
void CheckImage(const ReplicaSpec& r, const std::string& docker,
                const std::map<std::string, std::string>& env, const EngineUser& user,
                const PreflightOptions& o, std::map<std::string, std::string>& seen,
                Problems& out) {
  if (r.launcher != Launcher::kDocker) return;
  std::string image = ImageFor(r);
  if (!seen.count(image)) {
    auto res = RunCommand(
        {{docker, "image", "inspect", "--format", "{{.Id}}", image}, env, user, o.timeout});
    seen[image] = !res.ok()             ? res.status().message()
                  : res->exit_code != 0 ? res->output.substr(0, res->output.find('\n'))
                                        : "";
  }
  if (seen[image].empty()) return;
  out.Add(Code::kNotFound, Who(r),
          fmt::format("its image {} is not on this host (docker image inspect: {})", image,
                      seen[image]),
          fmt::format("Pull it first: docker pull {}", image));
}

void CheckVllm(const ReplicaSpec& r, const std::string& program,
               const std::map<std::string, std::string>& env, const EngineUser& user,
               const PreflightOptions& o, std::map<std::string, std::string>& seen, Problems& out) {
  if (!RunsVllm(r, program) || r.uuid.rfind("MIG-", 0) != 0) return;
  if (!seen.count(program)) {
    auto v = VllmVersion(program, env, user, o.timeout);
    seen[program] = v.ok() ? *v : "";  // unknown: the engine's own start will tell
  }
  const std::string& version = seen[program];
  if (version.empty() || !VersionBefore(version, kVllmMigFixed)) return;
  out.Add(Code::kNotSupported, Who(r),
          fmt::format("vLLM {} ({}) crashes at start when CUDA_VISIBLE_DEVICES holds a MIG UUID, "
                      "as carve sets it (vllm-project/vllm#41848, fixed in {})",
                      version, program, kVllmMigFixed),
          fmt::format("Upgrade it (pip install -U 'vllm>={}'), or run it in its container: "
                      "launcher: docker on the model (docs/up.md).",
                      kVllmMigFixed));
}

void CheckReplica(const ReplicaSpec& r, const PreflightOptions& o,
                  std::map<std::string, std::string>& answers, Problems& out) {
  auto launch = BuildLaunch(r, 1, o.carve_path);
  if (!launch.ok()) return out.Add(Who(r), launch.status());
  auto user = LaunchUser(r);
  if (!user.ok()) return out.Add(Who(r), user.status());
  auto env = EngineEnvironment(launch->env, *user);
  const std::string& name = launch->argv.front();
  std::string program = FindProgram(name, env);
  if (program.empty() || (program[0] == '/' && ::access(program.c_str(), F_OK) != 0))
    return out.Add(Code::kNotFound, Who(r),
                   fmt::format("{} is not on the PATH the engine gets ({})", name,
                               env.count("PATH") ? env["PATH"] : "unset"),
                   "Install it, or give its full path in the spec.");
  if (program[0] == '/') CheckReach(Who(r), *user, program, X_OK, "its program", out);
  if (LoadsSource(r.engine) && fs::path(r.source).is_absolute()) {
    std::error_code ec;
    if (!fs::exists(r.source, ec))
      return out.Add(Code::kNotFound, Who(r),
                     fmt::format("its model path {} does not exist", r.source),
                     "Fix source: in the spec, or put the model there.");
    int mode = R_OK | (fs::is_directory(r.source, ec) ? X_OK : 0);
    CheckReach(Who(r), *user, r.source, mode, "its model", out);
  }
  CheckVllm(r, program, env, *user, o, answers, out);
  CheckImage(r, program, env, *user, o, answers, out);
}

// Each engine's working directory is STATE_DIR/engines/ID: its user must
// pass through every directory above it.
void CheckStateDir(const std::vector<ReplicaSpec>& replicas, const PreflightOptions& o,
                   Problems& out) {
  std::set<std::string> users;
  for (const auto& r : replicas) {
    auto user = LaunchUser(r);
    if (!user.ok() || !user->switch_to || !users.insert(user->name).second) continue;
    std::string blocked = FirstUnsearchable(*user, o.state_dir);
    if (blocked.empty()) continue;
    out.Add(Code::kNoPermission, "state directory",
            fmt::format("the engine user {} cannot reach {}, where each engine's working "
                        "directory goes: {} ({}) is not searchable by it",
                        user->name, o.state_dir, blocked, ModeAndOwner(blocked)),
            fmt::format("Give carve up a state directory it can reach (--state-dir "
                        "/var/lib/carve/up, or the default /run/carve), or let it through: "
                        "chmod o+x {}",
                        blocked));
  }
}

void CheckPorts(const std::vector<ReplicaSpec>& replicas, const PreflightOptions& o,
                Problems& out) {
  int need = 0;
  for (const auto& r : replicas) {
    if (!r.port) {
      ++need;
    } else if (!PortIsFree(*r.port)) {
      out.Add(Code::kInUse, Who(r), fmt::format("its port {} is taken by another program", *r.port),
              fmt::format("Free it (ss -ltnp 'sport = :{}' shows who has it).", *r.port));
    }
  }
  int free = 0;
  for (int p = o.port_first; p <= o.port_last && free < need; ++p) free += PortIsFree(p);
  if (free < need)
    out.Add(Code::kInsufficientResources, "engine ports",
            fmt::format("{} engine{} a port each, and only {} of {}-{} are free", need,
                        need == 1 ? " needs" : "s need", free, o.port_first, o.port_last),
            "Free some (ss -ltn shows who holds them), or give carve up another range: "
            "--engine-ports FIRST-LAST.");
}

// The interpreter line of a script: {"/usr/bin/env", "python3"}; {} for a binary.
std::vector<std::string> Shebang(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  if (!std::getline(in, line) || line.rfind("#!", 0) != 0) return {};
  std::istringstream words(line.substr(2));
  std::vector<std::string> out;
  for (std::string w; words >> w;) out.push_back(w);
  return out;
}

}  // namespace

std::string ParseVersion(const std::string& output) {
  static const std::regex kVersion(R"(v?(\d+\.\d+[0-9A-Za-z.+-]*))");
  std::istringstream in(output);
  std::string found;
  std::smatch m;
  for (std::string line; std::getline(in, line);) {
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (std::regex_match(line, m, kVersion)) found = m[1];
  }
  return found;
}

bool VersionBefore(const std::string& version, const std::string& than) {
  auto numbers = [](const std::string& v) {
    std::vector<int> out;
    size_t i = v.find_first_of("0123456789");
    while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
      out.push_back(std::atoi(v.c_str() + i));
      i = v.find_first_not_of("0123456789", i);
      if (i == std::string::npos || v[i] != '.' || i + 1 >= v.size() ||
          !std::isdigit(static_cast<unsigned char>(v[i + 1])))
        break;
      ++i;
    }
    return out;
  };
  std::vector<int> a = numbers(version), b = numbers(than);
  if (a.empty() || b.empty()) return false;
  a.resize(std::max(a.size(), b.size()));
  b.resize(a.size());
  return a < b;
}

Result<std::string> VllmVersion(const std::string& program,
                                const std::map<std::string, std::string>& env,
                                const EngineUser& user, std::chrono::milliseconds timeout) {
  std::vector<std::string> interp = Shebang(program);
  if (!interp.empty() && fs::path(interp.back()).filename().string().rfind("python", 0) == 0) {
    interp.insert(interp.end(), {"-c", "import importlib.metadata as m; print(m.version('vllm'))"});
    auto r = RunCommand({interp, env, user, timeout});
    if (r.ok() && r->exit_code == 0 && !ParseVersion(r->output).empty())
      return ParseVersion(r->output);
  }
  CARVE_ASSIGN_OR_RETURN(CommandResult r, RunCommand({{program, "--version"}, env, user, timeout}));
  std::string v = r.exit_code == 0 ? ParseVersion(r.output) : "";
  if (v.empty())
    return Status::Io(fmt::format("`{} --version` said no version (exit {}): {}", program,
                                  r.exit_code, r.output.substr(0, 200)));
  return v;
}

Status Preflight(const std::vector<ReplicaSpec>& replicas, const PreflightOptions& o) {
  Problems out;
  CheckStateDir(replicas, o, out);
  CheckPorts(replicas, o, out);
  std::map<std::string, std::string> answers;  // versions by program; image checks by image
  for (const auto& r : replicas) CheckReplica(r, o, answers, out);
  if (out.lines.empty()) return Status::Ok();
  std::string text;
  for (const auto& l : out.lines) text += "\n  " + l;
  return Status::Error(out.code,
                       fmt::format("{} problem{} would stop engines from starting:{}",
                                   out.lines.size(), out.lines.size() == 1 ? "" : "s", text),
                       "Nothing was changed: no slice, no engine. Fix these and run it again.");
}

}  // namespace carve::serve
