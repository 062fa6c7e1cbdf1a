// Preflight: whether each replica's engine can start, asked before carve up
// changes any slice. A refusal after the slices were destroyed and re-created
// costs the running models; one before costs nothing.
//
// Checked per replica: its command line builds; its program is on the PATH
// the engine gets and the engine user may run it; the engine user can reach
// the state directory (each engine's working directory is under it) and read
// a model given as a local path; vLLM is new enough for a MIG UUID in
// CUDA_VISIBLE_DEVICES; with `launcher: docker`, docker is on the PATH and
// the image is on this host (carve does not pull). Across replicas: enough
// free engine ports. Every problem is reported at once, each with what to
// do. The programs asked
// (`vllm --version`, `docker image inspect`) run as the launch's user
// (process.h LaunchUser), each with a timeout.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "serve/engine.h"
#include "serve/process.h"
#include "util/status.h"

namespace carve::serve {

struct PreflightOptions {
  std::string state_dir;   // engines' working directories go under it (it exists)
  std::string carve_path;  // the echo engine's binary
  int port_first = 20000, port_last = 20999;
  std::chrono::milliseconds timeout{30'000};  // each program carve runs to ask
};

// The first vLLM release that starts with a MIG UUID in CUDA_VISIBLE_DEVICES
// (vllm-project/vllm#41848: earlier ones crash at start).
inline constexpr const char* kVllmMigFixed = "0.24";

// Checks `replicas` (their ids name them in messages; a uuid starting with
// "MIG-" means a MIG slice). Ok, or one error listing every problem; its
// code is the first problem's.
Status Preflight(const std::vector<ReplicaSpec>& replicas, const PreflightOptions& options);

// The version of the vLLM that `program` (a path) runs: from its Python's
// package metadata when it is a Python script (quick: no torch import), else
// from `program --version`. kTimeout, kIo or kNotFound when neither says.
Result<std::string> VllmVersion(const std::string& program,
                                const std::map<std::string, std::string>& env,
                                const EngineUser& user, std::chrono::milliseconds timeout);

// True when `version` ("0.23.1", "0.11.0rc1", "v0.9.2+cu128") is an older
// release than `than` ("0.24"), comparing numbers; false when it has none.
bool VersionBefore(const std::string& version, const std::string& than);

// The version in a program's output: the last line that is only a version.
std::string ParseVersion(const std::string& output);

}  // namespace carve::serve
