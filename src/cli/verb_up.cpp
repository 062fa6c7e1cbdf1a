// carve up SPEC [--detach] [--state-dir DIR]: plan, apply, serve (docs/up.md).
// carve down [--state-dir DIR]: stop it. carve status [--json]: what it serves.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "serve/access.h"
#include "up/overrides.h"
#include "up/state_dir.h"
#include "up/status.h"
#include "up/up.h"
#include "util/utc.h"

namespace carve::cli {

namespace {

namespace fs = std::filesystem;

struct UpFlags {
  std::string spec, state_dir, engine_ports;
  bool detach = false, keep_going = false;
  double ready_timeout = 0;
};

std::string CurlLine(const std::string& listen, const std::string& model) {
  return fmt::format(
      "curl -s http://{}/v1/chat/completions -H 'Content-Type: application/json' "
      "-d '{{\"model\":\"{}\",\"messages\":[{{\"role\":\"user\",\"content\":\"hello\"}}]}}'",
      listen, model);
}

void PrintEndpoint(const std::string& listen, const std::string& spec_path) {
  std::string model = "MODEL";
  if (auto s = spec::LoadSpec(spec_path); s.ok() && !s->models.empty())
    model = s->models.front().name;
  fmt::print("Serving on http://{} (OpenAI-compatible). Try:\n  {}\n", listen,
             CurlLine(listen, model));
  std::fflush(stdout);
}

Status Up(Globals& g, const UpFlags& f) {
  std::string dir = UpStateDir(g, f.state_dir);
  CARVE_RETURN_IF_ERROR(serve::CreateSearchableDirs(dir));  // engines pass through it
  // One is running: ask it to reload the spec, changing only what differs.
  if (int pid = up::RunningPid(dir)) {
    CARVE_RETURN_IF_ERROR(up::RequestReload(dir, f.spec, std::chrono::minutes(20)));
    auto st = up::ReadStatus(dir);
    fmt::print("Reloaded {} in carve up (pid {}).\n", f.spec, pid);
    if (st.ok()) fmt::print("{}", up::StatusText(*st));
    return Status::Ok();
  }
  up::Options o;
  o.state_dir = dir;
  o.journal_dir = StateDirFor(g, "");
  o.carve_path = fs::read_symlink("/proc/self/exe").string();
  o.ready_timeout_ms = static_cast<int>(f.ready_timeout * 1000);
  o.keep_going = f.keep_going;
  if (const char* n = std::getenv("CARVE_TEST_CRASH_AT_STEP")) o.crash_at_step = std::atoi(n);
  if (!f.engine_ports.empty())
    CARVE_RETURN_IF_ERROR(ParsePortRange(f.engine_ports, o.port_first, o.port_last));
  up::Hooks h;
  h.open_machine = [&g] { return OpenMachine(g); };
  bool tty = ::isatty(1) && !f.detach && !g.json;
  o.note = [tty](const std::string& s) {  // with the time: up.log is a record
    if (tty) return;
    std::fprintf(stderr, "%s carve up: %s\n", UtcNow().c_str(), s.c_str());
  };
  if (!f.detach) {
    return up::RunService(
        f.spec, o, h,
        [&](const std::string& listen) {
          if (!tty) PrintEndpoint(listen, f.spec);
        },
        tty);
  }

  // --detach: a child in its own session runs the service, logging to
  // STATE_DIR/up.log; it tells us through a pipe when it serves, or why not.
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Status::Internal("pipe failed");
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) return Status::Internal("fork failed");
  if (pid == 0) {
    ::close(p[0]);
    ::setsid();
    if (::fork() > 0) ::_exit(0);  // not a session leader: never gets a terminal back
    int null = ::open("/dev/null", O_RDONLY);
    int log = ::open(up::StatePath(dir, up::kLogFile).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    Status s = up::RunService(
        f.spec, o, h,
        [&](const std::string& listen) {
          std::string line = "ok " + listen + "\n";
          (void)!::write(p[1], line.data(), line.size());
          ::close(p[1]);
          p[1] = -1;
        },
        false);
    if (!s.ok()) {
      std::string msg = s.ToString();
      std::fprintf(stderr, "carve up: %s\n", msg.c_str());
      // The parent exits as this would have: the error's code goes with it.
      std::string err = nlohmann::json{
          {"code", static_cast<int>(s.code())},
          {"message", s.message()},
          {"hint",
           s.hint()}}.dump();
      if (p[1] >= 0) (void)!::write(p[1], err.data(), err.size());
    }
    std::fflush(nullptr);
    ::_exit(s.ok() ? 0 : ExitCodeFor(s));
  }
  ::close(p[1]);
  ::waitpid(pid, nullptr, 0);
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) answer.append(buf, n);
  ::close(p[0]);
  if (answer.rfind("ok ", 0) != 0) {
    std::string log = "Its log: " + up::StatePath(dir, up::kLogFile);
    auto err = nlohmann::json::parse(answer, nullptr, false);
    if (!err.is_object())
      return Status::Error(Code::kUnknown, "carve up exited before serving", log);
    std::string hint = err.value("hint", "");
    return Status::Error(static_cast<Code>(err.value("code", static_cast<int>(Code::kUnknown))),
                         err.value("message", ""), hint.empty() ? log : hint + "\n" + log);
  }
  std::string listen = answer.substr(3, answer.find('\n') - 3);
  fmt::print("carve up runs in the background (pid {}, state {}).\n", up::RunningPid(dir), dir);
  PrintEndpoint(listen, f.spec);
  fmt::print("carve status shows it; carve down stops it.\n");
  return Status::Ok();
}

Status Down(const Globals& g, const std::string& state_dir) {
  CARVE_ASSIGN_OR_RETURN(std::string msg,
                         up::Down(UpStateDir(g, state_dir), std::chrono::seconds(90)));
  fmt::print("{}\n", msg);
  return Status::Ok();
}

// The overrides of carve advise --apply and autoscale that hold for the spec
// file as it is now (up/overrides.h), as JSON and as lines for people.
nlohmann::ordered_json OverridesInForce(const std::string& dir, const std::string& spec_path,
                                        std::string& text) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  auto all = up::ReadOverrides(dir);
  auto spec = spec::LoadSpec(spec_path);
  if (!all.ok() || !spec.ok()) return out;
  for (const auto& [name, o] : up::InForce(*spec, *all)) {
    std::string what = o.replicas ? fmt::format("replicas {}", *o.replicas)
                                  : fmt::format("throughput {:g}", *o.throughput);
    out[name] = {{"replicas", o.replicas ? nlohmann::ordered_json(*o.replicas) : nullptr},
                 {"throughput", o.throughput ? nlohmann::ordered_json(*o.throughput) : nullptr},
                 {"spec", o.spec},
                 {"by", o.by},
                 {"at", o.at}};
    text += fmt::format("  {}: {} over the spec's {:g} ({}, {})\n", name, what, o.spec, o.by, o.at);
  }
  if (!text.empty())
    text = fmt::format("\noverrides in force ({}; the spec file is as you wrote it):\n",
                       up::StatePath(dir, up::kOverridesFile)) +
           text;
  return out;
}

Status ShowStatus(const Globals& g, const std::string& state_dir) {
  const std::string dir = UpStateDir(g, state_dir);
  CARVE_ASSIGN_OR_RETURN(auto st, up::ReadStatus(dir));
  std::string text;
  st["overrides"] = OverridesInForce(dir, st.value("spec", ""), text);
  if (g.json)
    fmt::print("{}\n", st.dump(2));
  else
    fmt::print("{}{}", up::StatusText(st), text);
  return Status::Ok();
}

}  // namespace

std::string UpStateDir(const Globals& g, const std::string& flag) {
  if (!flag.empty()) return fs::absolute(flag).string();
  if (!g.sim.empty()) return fs::absolute(g.sim + ".d/up").string();
  return "/run/carve";
}

void AddUp(CLI::App& app, Globals& g) {
  auto f = std::make_shared<UpFlags>();
  auto* cmd =
      app.add_subcommand("up", "Serve a spec: plan, apply, one engine per replica, one gateway");
  cmd->add_option("spec", f->spec, "The spec (carve.yaml)")->required();
  cmd->add_flag("--detach,-d", f->detach, "Run in the background; carve down stops it");
  cmd->add_option("--state-dir", f->state_dir,
                  "PID, status, logs (default: SIMFILE.d/up, or /run/carve)");
  cmd->add_option("--ready-timeout", f->ready_timeout,
                  "Seconds an engine has to become ready (default: per engine)");
  cmd->add_flag("--keep-going", f->keep_going,
                "Serve what became ready when a replica fails to start");
  cmd->add_option("--engine-ports", f->engine_ports, "Engine port range (default 20000-20999)")
      ->type_name("FIRST-LAST");
  cmd->callback(Body(g, [&g, f] { return Up(g, *f); }));
}

void AddDown(CLI::App& app, Globals& g) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "down", "Stop carve up: drain the gateway, stop every engine (the layout stays)");
  cmd->add_option("--state-dir", *dir, "As given to carve up");
  cmd->callback(Body(g, [&g, dir] { return Down(g, *dir); }));
}

void AddStatus(CLI::App& app, Globals& g) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("status",
                                 "What carve up serves: per replica slice, engine, state, traffic");
  cmd->add_option("--state-dir", *dir, "As given to carve up");
  cmd->callback(Body(g, [&g, dir] { return ShowStatus(g, *dir); }));
}

}  // namespace carve::cli
