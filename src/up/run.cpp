// RunService: the foreground loop of `carve up` (also what --detach runs in
// the background). Signals arrive on a signalfd, engine state changes on the
// service's eventfd; one thread does everything else.
#include <fmt/format.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <utility>

#include "up/autoscale.h"
#include "up/overrides.h"
#include "up/state_dir.h"
#include "up/status.h"
#include "up/up.h"
#include "util/file_lock.h"

namespace carve::up {

namespace {

// SIGHUP: reload the spec STATE_DIR/reload.request names (or the same spec);
// rebalance it when the request says so.
void Reload(Service& s, const std::string& state_dir, std::string& spec_path) {
  ReloadRequest req = ReadReloadRequest(state_dir, spec_path);
  Replan replan = ParseReplan(req.rebalance);
  if (replan == Replan::kNone)
    std::fprintf(stderr, "carve up: reloading %s\n", req.spec.c_str());
  else
    std::fprintf(stderr, "carve up: rebalancing %s (%s plan)\n", req.spec.c_str(),
                 ReplanName(replan));
  Status st = s.Reload(req.spec, replan);
  if (st.ok()) spec_path = req.spec;
  if (!st.ok()) std::fprintf(stderr, "carve up: reload failed: %s\n", st.ToString().c_str());
  WriteReloadResult(state_dir, req, st);
}

}  // namespace

Status RunService(const std::string& spec_path, Options options, Hooks hooks,
                  const std::function<void(const std::string& listen)>& on_ready, bool tty) {
  // Signals are taken on a signalfd; blocked before any thread exists so every
  // thread inherits the mask (engines get a clean mask at exec, see process.cpp).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);  // carve pool load/unload: a request file waits (wake only)
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return Status::Internal("signalfd failed");

  std::string state_dir = options.state_dir;
  std::string current = spec_path;
  auto lock = FileLock::Acquire(StatePath(state_dir, kLockFile), /*wait=*/false);
  if (!lock.ok())
    return Status::Error(
        Code::kBusy, "another carve up runs in " + state_dir + " (" + lock.status().message() + ")",
        "carve up SPEC reloads it; carve down stops it.");
  // Signals that come while engines start are kept: a stop ends the start-up,
  // a reload waits for it.
  bool stop_pending = false, hup_pending = false;
  auto take_signals = [&] {
    signalfd_siginfo si;
    while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si))
      if (si.ssi_signo == SIGHUP)
        hup_pending = true;
      else if (si.ssi_signo != SIGUSR1)
        stop_pending = true;
    return stop_pending;
  };
  options.interrupted = take_signals;
  lock->Note(fmt::format("pid {}, carve up {}", ::getpid(), spec_path));
  CARVE_RETURN_IF_ERROR(WritePid(state_dir));
  // An override lives as long as the carve up that took it (overrides.h).
  RemoveOverrides(state_dir);

  auto started = Service::Start(spec_path, options, std::move(hooks));
  if (!started.ok()) {
    RemovePid(state_dir);
    ::close(sfd);
    return started.status();
  }
  Service& s = **started;
  if (take_signals()) {  // asked to stop before it told anyone it serves
    s.Stop(std::chrono::milliseconds(0));
    started->reset();
    RemovePid(state_dir);
    ::close(sfd);
    return Status::Error(Code::kUnknown, "stopped (SIGTERM or SIGINT) before it served");
  }
  on_ready(s.listen());
  if (std::exchange(hup_pending, false)) Reload(s, state_dir, current);
  Autoscaler autoscale(
      state_dir, [&] { return s.Reload(current); },
      [&](const std::string& line) {
        if (options.note) options.note(line);
      });

  while (true) {
    pollfd fds[2] = {{sfd, POLLIN, 0}, {s.wake_fd(), POLLIN, 0}};
    ::poll(fds, 2, 500);
    if (fds[1].revents & POLLIN) {
      uint64_t n;
      (void)!::read(s.wake_fd(), &n, sizeof n);
    }
    // Signals taken while a reload or failover waited for engines count too.
    take_signals();
    if (stop_pending) break;
    if (std::exchange(hup_pending, false)) Reload(s, state_dir, current);
    s.Tick();
    if (Status f = s.Failover(); !f.ok())
      std::fprintf(stderr, "carve up: failover failed: %s\n", f.ToString().c_str());
    s.Pools();
    autoscale.Tick(std::chrono::steady_clock::now());  // models with autoscale: only
    if (tty) {
      // A live summary: redraw the status in place.
      std::string text = StatusText(s.StatusJson());
      std::fprintf(stdout,
                   "\x1b[H\x1b[2J%s\nTry: curl -s http://%s/v1/models\n"
                   "Ctrl-C stops the engines (the layout stays).\n",
                   text.c_str(), s.listen().c_str());
      std::fflush(stdout);
    }
  }
  std::fprintf(stderr, "carve up: stopping: draining the gateway, stopping engines\n");
  s.Stop(s.drain());
  started->reset();
  RemovePid(state_dir);
  ::close(sfd);
  return Status::Ok();
}

}  // namespace carve::up
