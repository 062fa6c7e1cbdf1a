// `carve gateway --config FILE`: the gateway as a foreground service.
// Signals are taken with sigwait on the calling thread (blocked everywhere
// else before the gateway's threads start), so no handler runs async-unsafe code.
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "gateway/gateway.h"
#include "util/atomic_file.h"

namespace carve::gateway {
namespace {

Status WritePortFile(const std::string& path, uint16_t port) {
  if (path.empty()) return Status::Ok();
  // A reader sees no file or the whole port, never half of it.
  return WriteFileAtomically(path, std::to_string(port) + "\n", /*durable=*/false);
}

void Reload(Gateway& gw, const std::string& path) {
  auto config = LoadConfig(path);
  Status s = config.ok() ? gw.Reload(*config) : config.status();
  if (s.ok()) {
    spdlog::info("reloaded {}", path);
  } else {
    spdlog::error("reload of {} failed, keeping the running config: {}", path, s.ToString());
  }
}

}  // namespace

Status ServeFromConfigFile(const std::string& path, const std::string& port_file) {
  CARVE_ASSIGN_OR_RETURN(GatewayConfig config, LoadConfig(path));
  // Diagnostics on stderr: stdout is the access log's by default.
  if (!spdlog::get("gateway")) spdlog::set_default_logger(spdlog::stderr_logger_mt("gateway"));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by the gateway's threads
  CARVE_ASSIGN_OR_RETURN(auto gw, Gateway::Start(config));
  spdlog::info("gateway listening on {}:{} with {} model(s)", config.listen_host, gw->port(),
               config.models.size());
  CARVE_RETURN_IF_ERROR(WritePortFile(port_file, gw->port()));
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      Reload(*gw, path);
      continue;
    }
    auto cfg = LoadConfig(path);  // the drain bound of the latest good config
    int drain_ms = cfg.ok() ? cfg->timeouts.drain_ms : config.timeouts.drain_ms;
    spdlog::info("draining for up to {} ms", drain_ms);
    gw->Stop(std::chrono::milliseconds(drain_ms));
    spdlog::info("stopped");
    return Status::Ok();
  }
}

}  // namespace carve::gateway
