#include "up/state_dir.h"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "up/status.h"
#include "util/atomic_file.h"
#include "util/file_lock.h"
#include "util/format_version.h"
#include "util/read_file.h"

namespace carve::up {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// A state file's text; "" when it is missing or unreadable (callers then see
// no pid, no status).
std::string ReadAll(const std::string& path) {
  auto text = ReadFileBounded(path, kMaxConfigBytes, "state file");
  return text.ok() ? *text : "";
}

bool Alive(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// The engine PIDs status.json lists.
std::vector<int> EnginePids(const std::string& state_dir) {
  Json st = Json::parse(ReadAll(StatePath(state_dir, kStatusFile)), nullptr, false);
  std::vector<int> engines;
  if (st.is_object())
    for (const auto& r : st["replicas"])
      if (r.value("pid", 0) > 0) engines.push_back(r["pid"].get<int>());
  return engines;
}

// Waits for the answer with `nonce` in reload.result.
Status AwaitReloadResult(const std::string& state_dir, const std::string& nonce, int pid,
                         std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Json res = Json::parse(ReadAll(StatePath(state_dir, kReloadResultFile)), nullptr, false);
    if (res.is_object() && res.value("nonce", "") == nonce) {
      std::string err = res.value("error", "");
      if (err.empty()) return Status::Ok();
      return Status::Error(Code::kUnknown, "the running carve up could not reload: " + err,
                           "It still serves what it served; carve status shows it.");
    }
    if (!Alive(pid))
      return Status::Error(
          Code::kUnknown, "carve up exited while reloading; see " + StatePath(state_dir, kLogFile));
    ::usleep(50'000);
  }
  return Status::Error(Code::kTimeout, "carve up did not answer the reload in time",
                       "carve status shows what it runs.");
}

}  // namespace

std::string StatePath(const std::string& state_dir, const char* name) {
  return state_dir + "/" + name;
}

int RunningPid(const std::string& state_dir) {
  int pid = std::atoi(ReadAll(StatePath(state_dir, kPidFile)).c_str());
  return Alive(pid) ? pid : 0;
}

Status WritePid(const std::string& state_dir) {
  return WriteFileAtomically(StatePath(state_dir, kPidFile), fmt::format("{}\n", ::getpid()),
                             /*durable=*/false);
}

void RemovePid(const std::string& state_dir) {
  std::remove(StatePath(state_dir, kPidFile).c_str());
}

Status WriteStatus(const std::string& state_dir, const std::string& text) {
  return WriteFileAtomically(StatePath(state_dir, kStatusFile), text, /*durable=*/false);
}

void RemoveStatus(const std::string& state_dir) {
  std::error_code ec;
  fs::remove(StatePath(state_dir, kStatusFile), ec);
}

Result<Json> ReadStatus(const std::string& state_dir) {
  int pid = RunningPid(state_dir);
  if (!pid)
    return Status::NotFound("carve up is not running (state dir " + state_dir + ")",
                            "Start it: carve up SPEC --detach");
  Json st = Json::parse(ReadAll(StatePath(state_dir, kStatusFile)), nullptr, false);
  if (!st.is_object())
    return Status::Error(Code::kUnavailable,
                         "carve up (pid " + std::to_string(pid) + ") is starting; try again");
  // "v1"; a service started by a carve before the one spelling
  // (util/format_version.h) writes the number 1.
  const Json version = st.contains("version") ? st["version"] : Json();
  if (version != kFormatVersion && version != 1)
    return Status::InvalidArgument(
        fmt::format("{}: status version {} (this carve reads {})",
                    StatePath(state_dir, kStatusFile), version.dump(), kFormatVersion),
        "Run the carve that started the service (carve down, then carve up, switches).");
  return st;
}

ReloadRequest ReadReloadRequest(const std::string& state_dir, const std::string& fallback) {
  Json req = Json::parse(ReadAll(StatePath(state_dir, kReloadRequestFile)), nullptr, false);
  if (!req.is_object()) return {fallback, ""};
  return {req.value("spec", fallback), req.value("nonce", ""), req.value("rebalance", "")};
}

void WriteReloadResult(const std::string& state_dir, const ReloadRequest& req, const Status& st) {
  Json res = {{"nonce", req.nonce}, {"spec", req.spec}, {"error", st.ok() ? "" : st.ToString()}};
  (void)WriteFileAtomically(StatePath(state_dir, kReloadResultFile), res.dump() + "\n",
                            /*durable=*/false);
}

Status RequestReload(const std::string& state_dir, const std::string& spec_path,
                     std::chrono::milliseconds timeout, const std::string& rebalance) {
  // One request in flight at a time: the service answers one reload.result
  // per SIGHUP, and signals that arrive together coalesce into one. Each
  // requester waits its turn here and then gets its own answer.
  CARVE_ASSIGN_OR_RETURN(FileLock turn, FileLock::Acquire(StatePath(state_dir, kReloadLockFile),
                                                          /*wait=*/true));
  int pid = RunningPid(state_dir);
  if (!pid) return Status::NotFound("carve up is not running in " + state_dir);
  std::string nonce =
      fmt::format("{}-{}", ::getpid(), std::chrono::steady_clock::now().time_since_epoch().count());
  Json req = {{"spec", fs::absolute(spec_path).string()}, {"nonce", nonce}};
  if (!rebalance.empty()) req["rebalance"] = rebalance;
  CARVE_RETURN_IF_ERROR(WriteFileAtomically(StatePath(state_dir, kReloadRequestFile),
                                            req.dump() + "\n", /*durable=*/false));
  if (::kill(pid, SIGHUP) != 0)
    return Status::Io(fmt::format("cannot signal carve up, pid {}: {}", pid, std::strerror(errno)));
  return AwaitReloadResult(state_dir, nonce, pid, timeout);
}

Status RequestPool(const std::string& state_dir, const PoolRequest& req) {
  int pid = RunningPid(state_dir);
  if (!pid) return Status::NotFound("carve up is not running in " + state_dir);
  Json j = {{"action", req.action}, {"model", req.model}};
  CARVE_RETURN_IF_ERROR(WriteFileAtomically(
      StatePath(state_dir, fmt::format("pool.request.{}", ::getpid()).c_str()), j.dump() + "\n",
      /*durable=*/false));
  if (::kill(pid, SIGUSR1) != 0)
    return Status::Io(fmt::format("cannot signal carve up, pid {}: {}", pid, std::strerror(errno)));
  return Status::Ok();
}

std::vector<PoolRequest> TakePoolRequestFiles(const std::string& state_dir) {
  std::vector<PoolRequest> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("pool.request.", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    auto text = ReadFileBounded(e.path().string(), 4096, "a pool request");
    fs::remove(e.path(), ec);
    if (!text.ok()) continue;
    Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("action") || !j.contains("model")) continue;
    out.push_back({j.value("action", ""), j.value("model", "")});
  }
  return out;
}

Result<std::string> Down(const std::string& state_dir, std::chrono::milliseconds timeout) {
  int pid = RunningPid(state_dir);
  if (!pid) return std::string("carve up is not running (" + state_dir + ").");
  std::vector<int> engines = EnginePids(state_dir);
  ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Alive(pid) && std::chrono::steady_clock::now() < deadline) ::usleep(50'000);
  if (Alive(pid))
    return Status::Error(Code::kTimeout, fmt::format("carve up (pid {}) did not stop in time", pid),
                         fmt::format("kill -9 {} stops it; its engines die with it.", pid));
  // Engines die with their supervisor (parent-death signal); make sure.
  int left = 0;
  for (int e : engines) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (Alive(e) && std::chrono::steady_clock::now() < until) ::usleep(20'000);
    if (Alive(e)) ++left, ::kill(-e, SIGKILL);
  }
  return fmt::format("Stopped carve up (pid {}) and its {} engine{}{}.", pid, engines.size(),
                     engines.size() == 1 ? "" : "s",
                     left ? fmt::format(" ({} killed by process group)", left) : "");
}

}  // namespace carve::up
