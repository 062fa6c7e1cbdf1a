// Docker as the launcher: the same replicas as `docker run --gpus device=MIG-…`
// commands, one per replica, each with its engine's image, a loopback port
// mapping and a health check. Pure: replicas in, shell text out (golden-tested);
// `carve render docker SPEC` prints it.
#pragma once

#include <string>
#include <vector>

#include "serve/engine.h"
#include "util/status.h"

namespace carve::serve {

struct DockerOptions {
  std::string name_prefix = "carve";  // containers are PREFIX-<replica id>
  int first_port = 20000;             // host ports for replicas without a fixed one
  int container_port = 8000;          // what engines listen on inside
  std::string restart = "unless-stopped";
};

// The image an engine runs in by default; "" when it has none (echo, command).
std::string DefaultImage(EngineKind kind);

// A shell script: a comment header, then one `docker run -d …` per replica.
// kInvalidArgument, naming the model, for a replica without an image (echo
// and command need `image:`) or a command template that does not expand.
Result<std::string> RenderDockerRun(const std::vector<ReplicaSpec>& replicas,
                                    const DockerOptions& options = {});

// `word` quoted for a POSIX shell when it needs it.
std::string ShellQuote(const std::string& word);

}  // namespace carve::serve
