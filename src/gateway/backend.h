// The plain interface through which the gateway learns its backends: a list of
// {model, url, labels}. `carve gateway --config` reads it from YAML; `carve up`
// builds it from the replicas it starts. Nothing here knows about GPUs beyond
// two labels that end up on metrics.
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace carve::gateway {

struct Backend {
  std::string model;  // the id clients send as "model"
  std::string url;    // http://host:port of an OpenAI-compatible engine
  std::string gpu;    // label: GPU index or UUID ("" if not on a GPU)
  std::string slice;  // label: profile@start or MIG UUID ("" if whole GPU)
};

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string host_header;  // "host:port", sent upstream as Host
};

// Parses "http://host[:port][/]". https and paths are refused with a hint.
Result<Endpoint> ParseUrl(const std::string& url);

}  // namespace carve::gateway
