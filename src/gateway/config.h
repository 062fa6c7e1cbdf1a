// The gateway's configuration file (YAML), for `carve gateway --config FILE`.
// docs/gateway.md lists every key with its default.
//
// Parsing is strict: an unknown key, a wrong type or a bad value is an error
// that names the file and line, so a typo never silently becomes a default.
#pragma once

#include <yaml-cpp/node/node.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/backend.h"
#include "gateway/keys.h"
#include "gateway/router.h"
#include "util/status.h"

namespace carve::gateway {

struct ModelConfig {
  std::string name;
  std::vector<Backend> replicas;
  Limits limits;
};

struct Timeouts {
  int connect_ms = 2000;          // TCP connect to an engine
  int upstream_idle_ms = 300000;  // longest silence from an engine (incl. before headers)
  int client_idle_ms = 60000;     // keep-alive idle and slow request headers/body
  int client_write_ms = 60000;    // a client that stops reading (slow-client protection)
  int queue_ms = 30000;           // longest wait for a slot when a model is at its limit
  int hold_ms = 10000;            // longest wait for a model with no ready replica (0: none)
  int drain_ms = 30000;           // graceful shutdown: how long in-flight work may finish
};

struct HealthConfig {
  int interval_ms = 2000;  // active probe period, per replica
  int timeout_ms = 1000;
  std::string path = "/health";
};

// The most serving threads a config may ask for; more only costs memory and
// context switches (0 picks one per CPU).
inline constexpr int kMaxThreads = 256;

struct GatewayConfig {
  std::string listen = "127.0.0.1:8000";
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8000;   // 0: pick a free port
  int threads = 0;               // 0: one per CPU
  std::string access_log = "-";  // a path, "-" (stdout) or "off"
  std::vector<ModelConfig> models;
  std::vector<ApiKey> keys;
  uint64_t max_body_bytes = 32ull << 20;
  uint32_t max_header_bytes = 16 << 10;
  int max_connections = 10000;
  int retries = 2;  // other replicas tried before the first byte
  Timeouts timeouts;
  HealthConfig health;

  // Every replica of every model, flattened.
  std::vector<Backend> AllBackends() const;
  std::map<std::string, Limits> ModelLimits() const;
};

// Parses YAML `text`; `file` names it in error messages.
Result<GatewayConfig> ParseConfig(const std::string& text, const std::string& file);
Result<GatewayConfig> LoadConfig(const std::string& path);
// The same from a node already parsed out of `file` (carve.yaml's gateway:
// section, with `prefix` "gateway."), so errors name that file's own lines
// and the keys as written there.
Result<GatewayConfig> ParseConfigNode(const YAML::Node& root, const std::string& file,
                                      std::string_view prefix = {});

}  // namespace carve::gateway
