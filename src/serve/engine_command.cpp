// Every engine's command line, image and health path (engine.h): the one place
// host processes, containers and Kubernetes workloads read them from.
#include <fmt/format.h>

#include "serve/engine.h"

namespace carve::serve {
namespace {

using Words = std::vector<std::string>;

// The words before the flags. In a container, vLLM's and llama.cpp's images
// start their server themselves (entrypoints `vllm serve`, `llama-server`);
// SGLang's image has none, and echo runs the carve on the image's PATH.
Words Program(EngineKind kind, Site site, const std::string& carve_path) {
  const bool host = site == Site::kHost;
  switch (kind) {
    case EngineKind::kVllm:
      return host ? Words{"vllm", "serve"} : Words{};
    case EngineKind::kLlamaCpp:
      return host ? Words{"llama-server"} : Words{};
    case EngineKind::kSglang:
      return {"python3", "-m", "sglang.launch_server"};
    case EngineKind::kEcho:
      return {host ? carve_path : "carve", "engine", "echo"};
    case EngineKind::kCommand:
      return {};  // the spec's template
  }
  return {};
}

// What llama.cpp loads: a GGUF file, else a Hugging Face repository
// (`owner/name[:quant]`) that it downloads.
Words LlamaCppModel(const std::string& source) {
  return {source.ends_with(".gguf") ? "--model" : "--hf-repo", source};
}

// Where to listen, what to serve under which name, its share of the slice's
// memory and the GPUs it spans.
Words Flags(const ReplicaSpec& s, const std::string& host, const std::string& port) {
  Words out;
  auto add = [&out](const Words& words) { out.insert(out.end(), words.begin(), words.end()); };
  const Words listen = {"--host", host, "--port", port};
  const std::string fraction = FormatFraction(s.memory_fraction);
  const std::string gpus = std::to_string(s.tensor_parallel);
  switch (s.engine) {
    case EngineKind::kVllm:  // positional: vLLM deprecates --model for `vllm serve`
      add({s.source});
      add(listen);
      add({"--served-model-name", s.model, "--gpu-memory-utilization", fraction});
      if (s.tensor_parallel > 1) add({"--tensor-parallel-size", gpus});
      break;
    case EngineKind::kLlamaCpp:  // every layer on the GPU: the slice is the engine's alone
      add(LlamaCppModel(s.source));
      add(listen);
      add({"--alias", s.model, "--n-gpu-layers", "999"});
      break;
    case EngineKind::kSglang:
      add({"--model-path", s.source});
      add(listen);
      add({"--served-model-name", s.model, "--mem-fraction-static", fraction});
      if (s.tensor_parallel > 1) add({"--tp", gpus});
      break;
    case EngineKind::kEcho:
      add(listen);
      add({"--model", s.model});
      break;
    case EngineKind::kCommand:
      break;
  }
  return out;
}

bool NeedsSource(EngineKind kind) {
  return kind == EngineKind::kVllm || kind == EngineKind::kLlamaCpp || kind == EngineKind::kSglang;
}

}  // namespace

std::vector<std::string> EngineCommand::Argv() const {
  Words out = program;
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

Result<EngineCommand> EngineCommandFor(const ReplicaSpec& spec, Site site, int port,
                                       const std::string& carve_path) {
  auto where = [&](const Status& s) { return s.Prefixed(fmt::format("model {}", spec.model)); };
  if (NeedsSource(spec.engine) && spec.source.empty())
    return where(Status::InvalidArgument(
        fmt::format("engine {} needs a source (what to load)", EngineName(spec.engine))));
  EngineCommand c;
  if (spec.engine == EngineKind::kCommand) {
    if (spec.command.empty())
      return where(
          Status::InvalidArgument("engine command needs a command",
                                  "Add command: [\"./serve.sh\", \"--port\", \"{port}\"]."));
    for (const std::string& word : spec.command) {
      auto expanded = ExpandPlaceholders(word, spec, port);
      if (!expanded.ok()) return where(expanded.status());
      c.program.push_back(std::move(*expanded));
    }
  } else {
    c.program = Program(spec.engine, site, carve_path);
    c.args = Flags(spec, site == Site::kHost ? "127.0.0.1" : "0.0.0.0", std::to_string(port));
  }
  c.args.insert(c.args.end(), spec.args.begin(), spec.args.end());
  return c;
}

std::string DefaultImage(EngineKind kind) {
  switch (kind) {
    case EngineKind::kVllm:
      return "vllm/vllm-openai:v0.10.2";
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

std::string ImageFor(const ReplicaSpec& spec) {
  return spec.image.empty() ? DefaultImage(spec.engine) : spec.image;
}

std::string HealthPath(const ProbeSpec& probe) {
  return probe.live.empty() ? "/health" : probe.live.front().path;
}

}  // namespace carve::serve
