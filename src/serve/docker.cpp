#include "serve/docker.h"

#include <fmt/format.h>

#include <set>

namespace carve::serve {
namespace {

constexpr const char* kHfCache =
    "\"${HF_HOME:-$HOME/.cache/huggingface}:/root/.cache/huggingface\"";

// One `docker run`, built as lines of already-quoted words.
struct Run {
  std::vector<std::string> lines;
  void Add(const std::vector<std::string>& words) {
    std::string line;
    for (const std::string& w : words) line += (line.empty() ? "" : " ") + w;
    lines.push_back(line);
  }
  std::string Text() const {
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i)
      out += (i ? "  " : "") + lines[i] + (i + 1 < lines.size() ? " \\\n" : "\n");
    return out;
  }
};

std::vector<std::string> Quoted(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const std::string& w : words) out.push_back(ShellQuote(w));
  return out;
}

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
Result<std::vector<std::string>> EngineArgs(const ReplicaSpec& s, int port, Run& run) {
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
        run.Add({"-v", ShellQuote(model.substr(0, slash) + ":/models:ro")});
        model = "/models/" + model.substr(slash + 1);
      }
      break;
    }
    case EngineKind::kEcho:
    case EngineKind::kCommand: {
      auto l = BuildLaunch(s, port, "carve");
      if (!l.ok()) return l.status();
      return l->argv;
    }
  }
  for (auto& f : ServerFlags(s, "0.0.0.0", p, model)) out.push_back(std::move(f));
  return out;
}

Result<std::string> RenderOne(const ReplicaSpec& s, int host_port, const DockerOptions& o) {
  std::string image = s.image.empty() ? DefaultImage(s.engine) : s.image;
  if (image.empty())
    return Status::InvalidArgument(
        fmt::format("model {}: engine {} has no container image", s.model, EngineName(s.engine)),
        "Give the model an image: to run it with Docker.");
  if (s.uuid.empty())
    return Status::InvalidArgument(fmt::format("model {}: no slice (MIG UUID)", s.model));
  int cport = o.container_port;
  Run run;
  run.Add({"docker", "run", "-d", "--name", ShellQuote(o.name_prefix + "-" + SafeName(s.id)),
           "--restart", o.restart});
  run.Add({"--gpus", ShellQuote("device=" + s.uuid), "-p",
           fmt::format("127.0.0.1:{}:{}", host_port, cport)});
  if (s.engine == EngineKind::kVllm || s.engine == EngineKind::kSglang)  // PyTorch's shm
    run.Add({"--ipc=host", "-v", kHfCache, "-e", "HF_TOKEN"});
  for (const auto& [k, v] : s.env) run.Add({"-e", ShellQuote(k + "=" + v)});
  const ProbeSpec probe = ProbeFor(s);
  run.Add({"--health-cmd", ShellQuote(HealthCmd(s.engine, probe, cport)), "--health-interval",
           fmt::format("{}s", std::max(1, probe.live_interval_ms / 1000)), "--health-retries",
           std::to_string(probe.failures_to_restart), "--health-start-period",
           fmt::format("{}s", probe.ready_timeout_ms / 1000)});
  CARVE_ASSIGN_OR_RETURN(std::vector<std::string> args, EngineArgs(s, cport, run));
  args.insert(args.end(), s.args.begin(), s.args.end());
  run.Add({ShellQuote(image)});
  run.Add(Quoted(args));
  return run.Text();
}

}  // namespace

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

std::string ShellQuote(const std::string& word) {
  bool plain = !word.empty();
  for (char c : word)
    plain &= std::isalnum(static_cast<unsigned char>(c)) ||
             std::string_view("-_./:=@,+%").find(c) != std::string_view::npos;
  if (plain) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Result<std::string> RenderDockerRun(const std::vector<ReplicaSpec>& replicas,
                                    const DockerOptions& options) {
  std::string out = fmt::format(
      "#!/bin/sh\n# carve render docker: {} replica{}, one container per MIG slice.\n"
      "# Needs Docker and the NVIDIA Container Toolkit; ports listen on 127.0.0.1 only.\n"
      "set -e\n",
      replicas.size(), replicas.size() == 1 ? "" : "s");
  std::set<int> fixed;
  for (const ReplicaSpec& r : replicas)
    if (r.port) fixed.insert(*r.port);
  int next_port = options.first_port;
  for (const ReplicaSpec& r : replicas) {
    while (!r.port && fixed.count(next_port)) ++next_port;  // never two on one host port
    int port = r.port ? *r.port : next_port++;
    CARVE_ASSIGN_OR_RETURN(std::string one, RenderOne(r, port, options));
    out += fmt::format("\n# {} ({}) on {}\n", r.model, EngineName(r.engine), r.uuid) + one;
  }
  return out;
}

}  // namespace carve::serve
