// carve top [PANE] [--state-dir DIR] [--once]: a live view of what carve up
// serves (its status.json), or, where none runs, of the machine itself, redrawn
// every second and on each key (docs/observe.md, "carve top"). render/top
// draws the screen; this file reads the status, the keys and the signals.
#include <fmt/format.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <ctime>
#include <memory>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/terminal.h"
#include "cli/verbs.h"
#include "render/style.h"
#include "render/top.h"
#include "up/observe.h"
#include "up/state_dir.h"

namespace carve::cli {

namespace {

using Json = nlohmann::ordered_json;

struct TopFlags {
  std::string pane = "gpus", state_dir;
  bool once = false;
};

// The status to show: carve up's status.json while one runs in the state
// directory, else the machine read through the Machine seam (opened on first
// need and kept, so utilisation is measured between two reads). Reads only.
class TopSource {
 public:
  TopSource(const Globals& g, std::string dir) : g_(g), dir_(std::move(dir)) {}
  Result<Json> Read();

 private:
  Result<Json> ReadMachine();
  const Globals& g_;
  std::string dir_;
  std::unique_ptr<device::Machine> machine_;
};

Result<Json> TopSource::Read() {
  auto st = up::ReadStatus(dir_);
  Code code = st.status().code();
  if (st.ok() || (code != Code::kNotFound && code != Code::kUnavailable)) return st;
  return ReadMachine();
}

Result<Json> TopSource::ReadMachine() {
  if (!machine_) {
    auto m = OpenMachine(g_);
    if (!m.ok())
      return Status::Error(
          m.status().code(),
          fmt::format("no carve up in {} and no machine to read: {}", dir_, m.status().message()),
          "Start one (carve up SPEC --detach), name its directory (carve top --state-dir DIR),\n"
          "or read a simulated machine (--sim FILE).");
    machine_ = std::move(*m);
  }
  CARVE_ASSIGN_OR_RETURN(auto gpus, machine_->Gpus());
  up::MachineView view{gpus, {}, {}};
  for (const auto& gpu : gpus)
    if (auto u = machine_->ReadUtilisation(gpu.index); u.ok()) view.utilisation[gpu.index] = *u;
  Json out = {{"state_dir", dir_}};
  out.update(up::StatusParts(view));
  return out;
}

std::string Clock() {
  std::time_t now = std::time(nullptr);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", std::localtime(&now));
  return text;
}

render::TopView StartView(const TopFlags& f) {
  render::TopView v;
  if (f.pane == "slices") v.pane = render::TopView::Pane::kSlices;
  if (f.pane == "models") v.pane = render::TopView::Pane::kModels;
  v.clock = Clock();
  return v;
}

// Applies each key read from the terminal; false on q, or when it is gone.
bool ReadKeys(const Json& status, render::TopView& view) {
  char keys[64];
  ssize_t n = ::read(STDIN_FILENO, keys, sizeof keys);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  for (ssize_t i = 0; i < n; ++i)
    if (!render::ApplyTopKey(static_cast<unsigned char>(keys[i]), status, view)) return false;
  return true;
}

// True unless one of the signals taken is SIGINT, SIGTERM or SIGHUP (SIGWINCH: redraw).
bool ReadSignals(int sfd) {
  signalfd_siginfo si;
  while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si))
    if (si.ssi_signo != SIGWINCH) return false;
  return true;
}

// Redraws every second and on each key or resize until q or a signal to stop.
Status Loop(TopSource& source, render::TopView view, const render::Style& style, int sfd) {
  CARVE_ASSIGN_OR_RETURN(Json status, source.Read());  // a first error on the plain screen
  FullScreen screen;                                   // restores the terminal on every return
  auto next = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (;;) {
    if (std::chrono::steady_clock::now() >= next) {
      CARVE_ASSIGN_OR_RETURN(status, source.Read());
      next = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    view.clock = Clock();
    TermSize size = TerminalSize(STDOUT_FILENO, EnvSize({}));
    screen.Draw(render::RenderTop(status, view, size.width, size.height, style));
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        next - std::chrono::steady_clock::now());
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (::poll(fds, 2, std::max<int>(0, wait.count())) < 0 && errno != EINTR)
      return Status::Internal("poll failed");
    if ((fds[1].revents & POLLIN) && !ReadSignals(sfd)) return Status::Ok();
    if ((fds[0].revents & (POLLIN | POLLHUP)) && !ReadKeys(status, view)) return Status::Ok();
  }
}

// The signals that stop carve top (and SIGWINCH) arrive on a signalfd, so
// the loop can restore the terminal before it exits; blocked before the
// machine is opened, so no thread it starts takes them instead.
Status Live(TopSource& source, const render::TopView& view, const render::Style& style) {
  sigset_t set, old;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaddset(&set, sig);
  ::pthread_sigmask(SIG_BLOCK, &set, &old);
  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  Status st = sfd < 0 ? Status::Internal("signalfd failed") : Loop(source, view, style, sfd);
  if (sfd >= 0) ::close(sfd);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return st;
}

Status Top(const Globals& g, const TopFlags& f) {
  TopSource source(g, UpStateDir(g, f.state_dir));
  auto style = render::Style::ForStdout(g.no_color);
  if (!g.json && !f.once && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO))
    return Live(source, StartView(f), style);
  CARVE_ASSIGN_OR_RETURN(Json status, source.Read());
  if (g.json) {
    fmt::print("{}\n", status.dump(2));
    return Status::Ok();
  }
  TermSize size = EnvSize(TerminalSize(STDOUT_FILENO, {}));
  fmt::print("{}", render::RenderTop(status, StartView(f), size.width, size.height, style));
  return Status::Ok();
}

}  // namespace

void AddTop(CLI::App& app, Globals& g) {
  auto f = std::make_shared<TopFlags>();
  auto* cmd = app.add_subcommand(
      "top", "Live view of carve up (or the machine): slices, memory, utilisation, traffic");
  cmd->add_option("pane", f->pane, "Pane to start on: gpus (default), slices or models")
      ->check(CLI::IsMember({"gpus", "slices", "models"}));
  cmd->add_option("--state-dir", f->state_dir,
                  "As given to carve up (default: SIMFILE.d/up, or /run/carve)")
      ->type_name("DIR");
  cmd->add_flag("--once", f->once, "Print one screen and exit (also when not on a terminal)");
  cmd->callback(Body(g, [&g, f] { return Top(g, *f); }));
}

}  // namespace carve::cli
