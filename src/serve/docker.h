// Docker as the launcher: a replica as `docker run --gpus device=MIG-… …` with
// its engine's image, a loopback port mapping and the engine's command line
// of EngineCommandFor (engine.h), the same flags as for a process. Two uses:
//   - carve render docker: a runnable script that looks each slice's MIG UUID
//     up when it runs (`carve gpus --uuid`), then (re)creates one container
//     per replica and the gateway's (docker_script.cpp);
//   - carve up with `launcher: docker`: the container in the foreground
//     (`docker run --rm`), so the docker CLI is the supervised child and its
//     output the engine's log; it is stopped with `docker stop`.
// Pure: replicas in, words out (golden-tested).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "serve/engine.h"
#include "util/status.h"

namespace carve::serve {

struct DockerOptions {
  std::string name_prefix = "carve";          // containers are PREFIX-<replica id>, PREFIX-gateway
  int port_first = 20000, port_last = 20999;  // host ports for replicas without a fixed one
  int container_port = 8000;                  // what engines listen on inside
  std::string restart = "unless-stopped";     // the script's containers
  // The host's Hugging Face cache, mounted for vLLM and SGLang. The script
  // leaves it to the shell; carve up gives HostHfCache().
  std::string hf_cache = "\x01HF_HOME:-$HOME/.cache/huggingface\x01";  // ShellVar
  // The script's gateway container: its image, and its config (YAML, with
  // every replica's URL); no gateway when empty.
  std::string carve_image = "ghcr.io/carve-project/carve:" CARVE_VERSION;
  std::string gateway_config;
  std::string gateway_listen;  // for the script's header
};

// The container of a replica: PREFIX-<SafeName(id)>.
std::string ContainerName(const ReplicaSpec& spec, const DockerOptions& options = {});

// Gives each replica without a fixed port the next port of the range that no
// other replica has. kInsufficientResources when the range is too small.
Status AssignDockerPorts(std::vector<ReplicaSpec>& replicas, const DockerOptions& options = {});

// The runnable shell script (see above). Replicas with a `slice` get their
// MIG UUID when it runs; others keep the `uuid` they have. kInvalidArgument,
// naming the model, for a replica without an image (echo and command need
// `image:`) or a command template that does not expand.
Result<std::string> RenderDockerScript(std::vector<ReplicaSpec> replicas,
                                       const DockerOptions& options = {});

// carve up's launch of a `launcher: docker` replica on host port `port`.
Result<Launch> DockerLaunch(const ReplicaSpec& spec, int port, const DockerOptions& options);

// $HF_HOME, else $HOME/.cache/huggingface, from `env`.
std::string HostHfCache(const std::map<std::string, std::string>& env);

// `word` quoted for a POSIX shell when it needs it.
std::string ShellQuote(const std::string& word);

// --- internal to serve/docker*.cpp ------------------------------------------

// A shell variable inside a word: "\x01NAME\x01". The script quotes such a
// word so that the shell expands ${NAME} in it (ShellWord).
std::string ShellVar(const std::string& name);
std::string ShellWord(const std::string& word);

// The words of one `docker run`, in the lines the script prints them.
struct DockerRun {
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> Argv() const;
};
enum class DockerMode { kScript, kForeground };
Result<DockerRun> BuildDockerRun(const ReplicaSpec& spec, int host_port,
                                 const DockerOptions& options, DockerMode mode);

}  // namespace carve::serve
