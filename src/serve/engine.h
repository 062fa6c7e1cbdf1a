// Engines: what serves a model on one slice, and how carve starts and probes it.
//
// Pure: turning a ReplicaSpec into an argv, an environment and probes touches
// no file, process or clock, so every engine's command line is unit-tested.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace carve::serve {

enum class EngineKind { kVllm, kLlamaCpp, kSglang, kCommand, kEcho };

// How an engine is started: a process of its own on this host, or its
// container (`docker run`, docker.h).
enum class Launcher { kProcess, kDocker };

// "vllm", "llama.cpp", "sglang", "command", "echo".
const char* EngineName(EngineKind kind);
// "process", "docker".
const char* LauncherName(Launcher launcher);
// The inverse of EngineName; kInvalidArgument naming the valid kinds.
Result<EngineKind> ParseEngine(const std::string& name);

// An HTTP GET on the engine's loopback port. It passes on a 200; when
// `expect_model` is set, the body must also name the model (a `/v1/models`
// list), which tells our engine from a stranger that holds the same port.
struct HttpCheck {
  std::string path = "/health";
  bool expect_model = false;
};

// How carve tells that an engine is ready and then still alive.
struct ProbeSpec {
  std::vector<HttpCheck> ready;    // all must pass; empty: ready once started
  std::vector<HttpCheck> live;     // all must pass; empty: alive while running
  int ready_timeout_ms = 600'000;  // from spawn to ready, or the start failed
  int ready_interval_ms = 50;      // a closed port answers at once; a cold start waits no longer
  int live_interval_ms = 5'000;
  int timeout_ms = 2'000;       // one HTTP request
  int failures_to_restart = 3;  // consecutive failed liveness probes
};

// One replica: a model on one slice, as the planner decided it.
struct ReplicaSpec {
  std::string id;     // unique in a supervisor: "qwen3-4b/0"
  std::string model;  // the name clients send as "model"
  EngineKind engine = EngineKind::kEcho;
  std::string source;                      // what the engine loads (HF id, path, GGUF)
  std::vector<std::string> command;        // kCommand: the template (argv)
  std::vector<std::string> args;           // appended to the engine's argv
  std::map<std::string, std::string> env;  // extra environment
  std::string uuid;                        // "MIG-…": the slice
  std::string slice;                       // "0:3g.40gb@4": where it is (device/slice_ref.h)
  double memory_fraction = 0.9;            // of the slice, for engines that take one
  std::optional<int> port;                 // fixed port; default: carve picks one
  std::string user;                        // run as; default "carve" when carve is root
  std::optional<ProbeSpec> probe;          // default: DefaultProbe(engine)
  Launcher launcher = Launcher::kProcess;
  std::string image;        // docker launcher, carve render; default: DefaultImage(engine)
  int tensor_parallel = 1;  // whole GPUs one engine spans (Kubernetes workloads only)
};

// What to exec: argv[0] is a program name or path, searched on PATH.
struct Launch {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to (and overriding) carve's own
};

// The probes that fit each engine (see docs/serve.md, "Probes").
ProbeSpec DefaultProbe(EngineKind kind);
// The spec's own probe, or the engine's default.
ProbeSpec ProbeFor(const ReplicaSpec& spec);

// The argv and environment that start `spec` on `port`. `carve_path` is the
// carve binary, for the echo engine. With `launcher: docker` that is the
// `docker run --rm …` of DockerLaunch (docker.h; the one impurity: it reads
// carve's HF_HOME or HOME for the Hugging Face cache it mounts).
// kInvalidArgument for an empty command, an unknown or unclosed placeholder,
// a missing source, an engine without an image for docker.
Result<Launch> BuildLaunch(const ReplicaSpec& spec, int port, const std::string& carve_path);

// Expands {port} {uuid} {model} {source} {memory_fraction} in one word.
// "{{" and "}}" stand for literal braces.
Result<std::string> ExpandPlaceholders(const std::string& word, const ReplicaSpec& spec, int port);

// `id` as one safe path component or container name: "qwen3-4b/0" → "qwen3-4b-0".
std::string SafeName(const std::string& id);

// "0.9", "0.85": the shortest decimal that round-trips, for command lines.
std::string FormatFraction(double f);

// Where an engine runs. On this host it listens on loopback only (the gateway
// is the front door) and its program is looked up on PATH; in a container it
// listens on every interface (the runtime forwards one port to it) and the
// image's entrypoint may be the program.
enum class Site { kHost, kContainer };

// An engine's command line: `program`, then `args`.
struct EngineCommand {
  // kHost: the program and its subcommand ("vllm", "serve"). kContainer: what
  // runs instead of the image's default command; empty when the image's
  // entrypoint is the server (vLLM's `vllm serve`, llama.cpp's `llama-server`).
  std::vector<std::string> program;
  std::vector<std::string> args;          // the engine's flags, then the spec's args
  std::vector<std::string> Argv() const;  // program, then args
};

// The one source of every engine's command line: host processes
// (BuildLaunch), `docker run` (docker.h) and Kubernetes workloads
// (render/k8s) all ask it, so their flags cannot drift apart. `carve_path`
// runs the echo engine on this host ("carve" on a container's PATH).
// kInvalidArgument, naming the model, for an engine that needs a source and
// has none, a command engine without a command or with a template that does
// not expand.
Result<EngineCommand> EngineCommandFor(const ReplicaSpec& spec, Site site, int port,
                                       const std::string& carve_path = "carve");

// The image an engine runs in by default; "" when it has none (echo, command:
// the spec names one).
std::string DefaultImage(EngineKind kind);
// The spec's own image, else DefaultImage of its engine.
std::string ImageFor(const ReplicaSpec& spec);

// The path a container's health check GETs: the first liveness check's.
std::string HealthPath(const ProbeSpec& probe);

}  // namespace carve::serve
