#include "serve/supervisor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <filesystem>

#include "serve/process.h"
#include "serve/runner.h"

namespace carve::serve {
namespace {

// Logs live apart from the working directories, in a directory only carve
// (root) may write: an engine cannot swap its log for a link to a file that
// carve would then append to and hand over.
Status PrepareLogDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Io(fmt::format("cannot create {}: {}", dir, ec.message()));
  std::filesystem::permissions(dir, std::filesystem::perms(0755), ec);
  return Status::Ok();
}

// A replica that needs no waiting to know it will not be ready soon.
bool Failed(const ReplicaStatus& s) { return s.ready_timed_out || s.state == State::kCrashLooping; }

}  // namespace

const char* StateName(State state) {
  switch (state) {
    case State::kStarting:
      return "starting";
    case State::kReady:
      return "ready";
    case State::kUnhealthy:
      return "unhealthy";
    case State::kRestarting:
      return "restarting";
    case State::kCrashLooping:
      return "crash-looping";
    case State::kStopping:
      return "stopping";
    case State::kStopped:
      return "stopped";
  }
  return "?";
}

Supervisor::Supervisor(SupervisorOptions options) : options_(std::move(options)) {
  if (options_.carve_path.empty()) {
    std::error_code ec;
    options_.carve_path = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  }
  if (!options_.ports) options_.ports = std::make_shared<PortAllocator>();
}

Supervisor::~Supervisor() { StopAll(); }

void Supervisor::SetObserver(Observer observer) { observer_ = std::move(observer); }

Status Supervisor::Start(const ReplicaSpec& spec) {
  {
    util::MutexLock lock(mu_);
    if (runners_.count(spec.id))
      return Status::Error(Code::kAlreadyExists, fmt::format("replica {} already runs", spec.id));
  }
  CARVE_ASSIGN_OR_RETURN(Launch launch, BuildLaunch(spec, 1, options_.carve_path));
  CARVE_ASSIGN_OR_RETURN(EngineUser user, LaunchUser(spec));
  if (FindProgram(launch.argv[0], EngineEnvironment(launch.env, user)).empty())
    return Status::NotFound(
        fmt::format("model {}: cannot start engine: {} is not on PATH", spec.model, launch.argv[0]),
        "Install it, or give its full path in the spec.");
  RunnerConfig config;
  config.spec = spec;
  config.probe = ProbeFor(spec);
  config.user = user;
  config.workdir = options_.state_dir + "/engines/" + SafeName(spec.id);
  config.log_path = options_.state_dir + "/logs/" + SafeName(spec.id) + ".log";
  config.fixed_port = spec.port.value_or(0);
  config.options = &options_;
  config.on_change = [this](const ReplicaStatus& s) { OnChange(s); };
  CARVE_RETURN_IF_ERROR(PrepareDir(config.workdir, user));
  CARVE_RETURN_IF_ERROR(PrepareLogDir(options_.state_dir + "/logs"));
  if (spec.port)
    CARVE_RETURN_IF_ERROR(
        options_.ports->AcquireFixed(*spec.port).Prefixed(fmt::format("model {}", spec.model)));
  auto runner = Runner::Create(std::move(config));
  if (!runner.ok()) {
    if (spec.port) options_.ports->Release(*spec.port);
    return runner.status();
  }
  util::MutexLock lock(mu_);
  auto [it, inserted] = runners_.emplace(spec.id, std::move(*runner));
  if (!inserted)
    return Status::Error(Code::kAlreadyExists, fmt::format("replica {} already runs", spec.id));
  it->second->Begin();
  return Status::Ok();
}

Status Supervisor::Stop(const std::string& id) {
  std::unique_ptr<Runner> runner;
  {
    util::MutexLock lock(mu_);
    auto it = runners_.find(id);
    if (it == runners_.end()) return Status::NotFound(fmt::format("no replica {}", id));
    runner = std::move(it->second);
    runners_.erase(it);
  }
  runner->RequestStop();
  runner->Join();
  return Status::Ok();
}

void Supervisor::StopAll() {
  std::map<std::string, std::unique_ptr<Runner>> all;
  {
    util::MutexLock lock(mu_);
    all.swap(runners_);
  }
  for (auto& [id, r] : all) r->RequestStop();  // all at once: one grace period in total
  for (auto& [id, r] : all) r->Join();
}

std::vector<ReplicaStatus> Supervisor::Snapshot() const {
  util::MutexLock lock(mu_);
  std::vector<ReplicaStatus> out;
  for (const auto& [id, r] : runners_) out.push_back(r->status());
  return out;
}

Result<ReplicaStatus> Supervisor::Get(const std::string& id) const {
  util::MutexLock lock(mu_);
  auto it = runners_.find(id);
  if (it == runners_.end()) return Status::NotFound(fmt::format("no replica {}", id));
  return it->second->status();
}

void Supervisor::OnChange(const ReplicaStatus& status) {
  {
    util::MutexLock lock(mu_);
    ++changes_;
  }
  changed_.notify_all();
  if (observer_) observer_(status);
}

bool Supervisor::WaitChange(util::MutexLock& lock, Clock::time_point deadline) {
  uint64_t seen = changes_;
  while (changes_ == seen)
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) return changes_ != seen;
  return true;
}

Status Supervisor::WaitReady(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  util::MutexLock lock(mu_);
  for (;;) {
    std::vector<std::string> waiting;
    for (const auto& [id, r] : runners_) {
      ReplicaStatus s = r->status();
      if (Failed(s))
        return Status::Error(
            Code::kUnavailable,
            s.last_error.empty() ? fmt::format("{} is {}", id, StateName(s.state)) : s.last_error,
            fmt::format("Its log: {}", s.log_path));
      if (s.state != State::kReady)
        waiting.push_back(fmt::format("{} ({})", id, StateName(s.state)));
    }
    if (waiting.empty()) return Status::Ok();
    if (!WaitChange(lock, deadline))
      return Status::Error(Code::kTimeout, fmt::format("not ready after {} ms: {}", timeout.count(),
                                                       fmt::join(waiting, ", ")));
  }
}

bool Supervisor::WaitFor(const std::string& id,
                         const std::function<bool(const ReplicaStatus&)>& pred, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  util::MutexLock lock(mu_);
  for (;;) {
    auto it = runners_.find(id);
    if (it == runners_.end()) return false;
    if (pred(it->second->status())) return true;
    if (!WaitChange(lock, deadline)) return false;
  }
}

}  // namespace carve::serve
