#include "serve/docker.h"

#include <fmt/format.h>

#include <set>

namespace carve::serve {
namespace {

// A GET on the engine inside its container, with what the image surely has:
// Python in the vLLM and SGLang images, curl in llama.cpp's (its own check)
// and, by assumption, in a command engine's.
std::string HealthCmd(EngineKind kind, const ProbeSpec& probe, int port) {
  std::string url = fmt::format("http://127.0.0.1:{}{}", port, HealthPath(probe));
  if (kind != EngineKind::kVllm && kind != EngineKind::kSglang) return "curl -fsS " + url;
  return "python3 -c \"import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=5)\" " + url;
}

// The engine's words after the image (EngineCommandFor): a local GGUF file's
// directory is mounted into the container and the engine loads it from there.
Result<std::vector<std::string>> EngineWords(const ReplicaSpec& s, int port, DockerRun& run) {
  ReplicaSpec inside = s;
  size_t slash = s.source.rfind('/');
  if (s.engine == EngineKind::kLlamaCpp && s.source.starts_with('/') && slash != 0) {
    run.lines.push_back({"-v", s.source.substr(0, slash) + ":/models:ro"});
    inside.source = "/models/" + s.source.substr(slash + 1);
  }
  CARVE_ASSIGN_OR_RETURN(EngineCommand command, EngineCommandFor(inside, Site::kContainer, port));
  return command.Argv();
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
  std::string image = ImageFor(s);
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
  CARVE_ASSIGN_OR_RETURN(std::vector<std::string> args, EngineWords(s, cport, run));
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
