// The state directory of `carve up` (--state-dir; docs/up.md, "State
// directory"): the files through which the service and `carve up`, `down`
// and `status` meet. Each file and its format:
//
//   up.pid          the service's PID and a newline, while it runs
//   up.lock         flock held by the running service: one per directory
//   status.json     status.h's JSON ("version": 1), written atomically
//   reload.request  {"spec": ABSOLUTE_PATH, "nonce": STRING[, "rebalance": "kept"|"fresh"]}:
//                   asks for a reload (a rebalance: carve rebalance)
//   reload.result   {"nonce", "spec", "error": "" or why}: the answer
//   reload.lock     flock a requester holds: one reload in flight at a time
//   up.log          the detached service's own log
//   traffic.json    per-model traffic history, 15 minutes (history.h)
//   live.journal    the live change in progress (live_journal.h)
//   pool.request.PID  {"action": "load"|"unload", "model"}: carve pool (RequestPool)
//   overrides.json  replica counts `carve advise --apply` and autoscale set
//                   over the spec's (overrides.h); removed when carve up starts
//   access.log      the gateway's access log (unless the spec says otherwise)
//   engines/ID/, logs/ID.log   each engine's working directory and log
//
// Every file is written atomically (temp file + rename); a reader that finds
// one missing or half-read sees "no service" or "starting", never garbage.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "util/status.h"

namespace carve::up {

inline constexpr const char* kPidFile = "up.pid";
inline constexpr const char* kLockFile = "up.lock";
inline constexpr const char* kStatusFile = "status.json";
inline constexpr const char* kReloadRequestFile = "reload.request";
inline constexpr const char* kReloadResultFile = "reload.result";
inline constexpr const char* kReloadLockFile = "reload.lock";
inline constexpr const char* kLogFile = "up.log";
inline constexpr const char* kTrafficFile = "traffic.json";
inline constexpr const char* kOverridesFile = "overrides.json";

// STATE_DIR/NAME.
std::string StatePath(const std::string& state_dir, const char* name);

// The PID of the running service in `state_dir`, or 0 when none runs.
int RunningPid(const std::string& state_dir);
Status WritePid(const std::string& state_dir);
void RemovePid(const std::string& state_dir);

// status.json: written by the service on every change; read by `carve status`.
Status WriteStatus(const std::string& state_dir, const std::string& text);
void RemoveStatus(const std::string& state_dir);
// status.json of the running service; kNotFound when none runs, kUnavailable
// while it starts, kInvalidArgument for a version this carve does not read.
Result<nlohmann::ordered_json> ReadStatus(const std::string& state_dir);

// A reload request as the service reads it: the spec to load (`fallback` when
// the request is missing or unreadable) and the nonce to answer with.
struct ReloadRequest {
  std::string spec;
  std::string nonce;
  std::string rebalance = {};  // "" (a reload), "kept" or "fresh" (rebalance.h's Replan)
};
ReloadRequest ReadReloadRequest(const std::string& state_dir, const std::string& fallback);
void WriteReloadResult(const std::string& state_dir, const ReloadRequest& req, const Status& st);

// Asks the service running in `state_dir` to reload `spec_path` (to
// rebalance it, with `rebalance` "kept" or "fresh") and waits (up to
// `timeout`) for its answer.
Status RequestReload(const std::string& state_dir, const std::string& spec_path,
                     std::chrono::milliseconds timeout, const std::string& rebalance = "");
// carve pool load|unload MODEL: one STATE_DIR/pool.request.PID file each
// ({"action": "load"|"unload", "model": NAME}), then SIGUSR1 to the service,
// which takes (reads and removes) them in its loop.
struct PoolRequest {
  std::string action, model;
};
Status RequestPool(const std::string& state_dir, const PoolRequest& req);
std::vector<PoolRequest> TakePoolRequestFiles(const std::string& state_dir);

// Stops the service in `state_dir` (SIGTERM) and waits until it and every
// engine it ran are gone (engines left over are killed by process group).
// Returns the message to print.
Result<std::string> Down(const std::string& state_dir, std::chrono::milliseconds timeout);

}  // namespace carve::up
