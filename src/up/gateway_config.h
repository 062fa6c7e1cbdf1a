// The gateway in front of a spec's replicas: its config from the spec's
// `gateway:` section, where every key but `models` may be set (carve fills
// those from the replicas it serves). For carve up's in-process gateway and
// for the gateway container of `carve render docker`.
#pragma once

#include <string>
#include <vector>

#include "device/machine.h"
#include "gateway/backend.h"
#include "gateway/config.h"
#include "serve/engine.h"
#include "spec/spec.h"

namespace carve::up {

// The spec's gateway settings; the access log defaults to
// STATE_DIR/access.log. kInvalidArgument (the spec's own line) for a bad
// section or one with models:.
Result<gateway::GatewayConfig> GatewayConfigFor(const spec::Spec& s, const std::string& state_dir);

// The config file (YAML) of a gateway serving `replicas` (each with its port,
// on 127.0.0.1) with the spec's settings, checked by the gateway's own parser.
Result<std::string> GatewayYamlFor(const spec::Spec& s,
                                   const std::vector<serve::ReplicaSpec>& replicas);

// Where a replica runs, as the gateway's metrics label it.
struct ReplicaPlace {
  std::string model;
  std::string url;     // http://127.0.0.1:PORT
  std::string engine;  // "vllm", "echo" …
  int gpu = 0;
  int gi = -1;  // its GPU instance; -1: the whole GPU (MIG off)
};

// The gateway backend of a replica with every slice fact `gpus` (the machine
// now) has for it: gpu, gpu_uuid, profile ("whole" for a GPU with MIG off),
// placement ("start:size"), mig_uuid (of its GPU instance's first compute
// instance), model, engine. Facts the machine lacks stay empty.
gateway::Backend BackendFor(const ReplicaPlace& r, const std::vector<device::Gpu>& gpus);

}  // namespace carve::up
