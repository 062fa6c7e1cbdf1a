// The plain interface through which the gateway learns its backends: a list of
// {model, url, labels}. `carve gateway --config` reads it from YAML; `carve up`
// builds it from the replicas it starts, with every slice fact it knows.
// Nothing here knows about GPUs: the labels are strings that end up on metrics
// (docs/observe.md lists them).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace carve::gateway {

struct Backend {
  std::string model;  // the id clients send as "model"
  std::string url;    // http://host:port of an OpenAI-compatible engine
  std::string gpu;    // label: GPU index ("" if not on a GPU)
  std::string slice;  // as a config gives it: profile@start or MIG UUID ("" if whole GPU)
  // Labels `carve up` fills; where empty, profile and mig_uuid come from `slice`.
  std::string gpu_uuid = {};   // "GPU-…"
  std::string profile = {};    // "3g.40gb"; "whole" for a GPU with MIG off
  std::string placement = {};  // "start:size" in the GPU's placement units
  std::string mig_uuid = {};   // "MIG-…"
  std::string engine = {};     // "vllm", "echo" …
  bool operator==(const Backend&) const = default;
};

// The label set of every series about this backend's replica, in order:
// gpu, gpu_uuid, profile, placement, mig_uuid, model, engine, replica (its url).
std::vector<std::pair<std::string, std::string>> BackendLabels(const Backend& b);

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string host_header;  // "host:port", sent upstream as Host
};

// Parses "http://host[:port][/]". https and paths are refused with a hint.
Result<Endpoint> ParseUrl(const std::string& url);

}  // namespace carve::gateway
