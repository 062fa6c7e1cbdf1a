#include "serve/docker.h"

#include <fmt/format.h>

#include <set>

namespace carve::serve {
namespace {

// A GET on the engine inside its container, with what the image surely has:
// Python in the vLLM and SGLang images, curl in llama.cpp's (its own check)
// and, by assumption, in a command engine's.
std::string HealthCmd(EngineKind kind, const ProbeSpec& probe, int port) {
  std::string path = probe.live.empty() ? "/health" : probe.live[0].path;
  std::string url = fmt::format("http://127.0.0.1:{}{}", port, path);
  if (kind != EngineKind::kVllm && kind != EngineKind::kSglang) return "curl -fsS " + url;
  return "python3 -c \"import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)\" " + url;
}

// The engine's arguments inside the container: all interfaces (Docker
// forwards the host's loopback port to it), the model's volume paths.
Result<std::vector<std::string>> EngineArgs(const ReplicaSpec& s, int port, DockerRun& run) {
  std::string p = std::to_string(port), model = s.source;
  std::vector<std::string> out;
  switch (s.engine) {
    case EngineKind::kVllm:  // the image's entrypoint is the server: the model is a flag
      out = {"--model", s.source};
      break;
    case EngineKind::kSglang:
      out = {"python3", "-m", "sglang.launch_server"};
      break;
    case EngineKind::kLlamaCpp: {  // a local GGUF file is mounted into the container
      size_t slash = model.rfind('/');
      if (!model.empty() && model[0] == '/' && slash != std::string::npos) {
        run.lines.push_back({"-v", model.substr(0, slash) + ":/models:ro"});
        model = "/models/" + model.substr(slash + 1);
      }
      break;
    }
    case EngineKind::kEcho:
    case EngineKind::kCommand: {  // the engine's own command line, in the container
      ReplicaSpec inside = s;
      inside.launcher = Launcher::kProcess;
      auto l = BuildLaunch(inside, port, "carve");
      if (!l.ok()) return l.status();
      l->argv.resize(l->argv.size() - s.args.size());  // the caller appends them
      return l->argv;
    }
  }
  for (auto& f : ServerFlags(s, "0.0.0.0", p, model)) out.push_back(std::move(f));
  return out;
}

void HealthLines(const ReplicaSpec& s, int cport, DockerRun& run) {
  const ProbeSpec probe = ProbeFor(s);
  run.lines.push_back({"--health-cmd", HealthCmd(s.engine, probe, cport), "--health-interval",
                       fmt::format("{}s", std::max(1, probe.live_interval_ms / 1000)),
                       "--health-retries", std::to_string(probe.failures_to_restart),
                       "--health-start-period", fmt::format("{}s", probe.ready_timeout_ms / 1000)});
}

}  // namespace

std::vector<std::string> DockerRun::Argv() const {
  std::vector<std::string> out;
  for (const auto& line : lines) out.insert(out.end(), line.begin(), line.end());
  return out;
}

Result<DockerRun> BuildDockerRun(const ReplicaSpec& s, int host_port, const DockerOptions& o,
                                 DockerMode mode) {
  std::string image = s.image.empty() ? DefaultImage(s.engine) : s.image;
  if (image.empty())
    return Status::InvalidArgument(
        fmt::format("model {}: engine {} has no container image", s.model, EngineName(s.engine)),
        "Give the model an image: to run it with Docker.");
  if (s.uuid.empty())
    return Status::InvalidArgument(fmt::format("model {}: no slice (MIG UUID)", s.model));
  int cport = o.container_port;
  DockerRun run;
  if (mode == DockerMode::kScript)
    run.lines.push_back(
        {"docker", "run", "-d", "--name", ContainerName(s, o), "--restart", o.restart});
  else
    run.lines.push_back({"docker", "run", "--rm", "--name", ContainerName(s, o)});
  run.lines.push_back(
      {"--gpus", "device=" + s.uuid, "-p", fmt::format("127.0.0.1:{}:{}", host_port, cport)});
  if (s.engine == EngineKind::kVllm || s.engine == EngineKind::kSglang)  // PyTorch's shm
    run.lines.push_back(
        {"--ipc=host", "-v", o.hf_cache + ":/root/.cache/huggingface", "-e", "HF_TOKEN"});
  for (const auto& [k, v] : s.env) run.lines.push_back({"-e", k + "=" + v});
  if (mode == DockerMode::kScript) HealthLines(s, cport, run);  // carve up probes itself
  CARVE_ASSIGN_OR_RETURN(std::vector<std::string> args, EngineArgs(s, cport, run));
  args.insert(args.end(), s.args.begin(), s.args.end());
  run.lines.push_back({image});
  run.lines.push_back(std::move(args));
  return run;
}

Result<Launch> DockerLaunch(const ReplicaSpec& spec, int port, const DockerOptions& options) {
  CARVE_ASSIGN_OR_RETURN(DockerRun run,
                         BuildDockerRun(spec, port, options, DockerMode::kForeground));
  return Launch{run.Argv(), {}};
}

std::string HostHfCache(const std::map<std::string, std::string>& env) {
  auto hf = env.find("HF_HOME");
  if (hf != env.end() && !hf->second.empty()) return hf->second;
  auto home = env.find("HOME");
  return (home != env.end() ? home->second : "/root") + "/.cache/huggingface";
}

std::string DefaultImage(EngineKind kind) {
  switch (kind) {
    case EngineKind::kVllm:
      return "vllm/vllm-openai:latest";
    case EngineKind::kLlamaCpp:
      return "ghcr.io/ggml-org/llama.cpp:server-cuda";
    case EngineKind::kSglang:
      return "lmsysorg/sglang:latest";
    case EngineKind::kEcho:
    case EngineKind::kCommand:
      return "";
  }
  return "";
}

std::string ContainerName(const ReplicaSpec& spec, const DockerOptions& options) {
  return options.name_prefix + "-" + SafeName(spec.id);
}

Status AssignDockerPorts(std::vector<ReplicaSpec>& replicas, const DockerOptions& o) {
  std::set<int> taken;
  for (const ReplicaSpec& r : replicas)
    if (r.port) taken.insert(*r.port);
  int next = o.port_first;
  for (ReplicaSpec& r : replicas) {
    if (r.port) continue;
    while (taken.count(next)) ++next;  // never two on one host port
    if (next > o.port_last)
      return Status::Insufficient(fmt::format("{} replicas need more host ports than {}-{} has",
                                              replicas.size(), o.port_first, o.port_last),
                                  "Give a larger range: --engine-ports FIRST-LAST.");
    r.port = next;
    taken.insert(next++);
  }
  return Status::Ok();
}

}  // namespace carve::serve
