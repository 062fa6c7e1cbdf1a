#include "serve/engine.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "serve/docker.h"
#include "serve/process.h"

namespace carve::serve {
namespace {

struct EngineRow {
  EngineKind kind;
  const char* name;
};
constexpr EngineRow kEngines[] = {
    {EngineKind::kVllm, "vllm"},     {EngineKind::kLlamaCpp, "llama.cpp"},
    {EngineKind::kSglang, "sglang"}, {EngineKind::kCommand, "command"},
    {EngineKind::kEcho, "echo"},
};

HttpCheck Health() { return HttpCheck{"/health", false}; }
HttpCheck ListsModel() { return HttpCheck{"/v1/models", true}; }

}  // namespace

const char* EngineName(EngineKind kind) {
  for (const EngineRow& r : kEngines)
    if (r.kind == kind) return r.name;
  return "?";
}

const char* LauncherName(Launcher launcher) {
  return launcher == Launcher::kDocker ? "docker" : "process";
}

Result<EngineKind> ParseEngine(const std::string& name) {
  for (const EngineRow& r : kEngines)
    if (name == r.name) return r.kind;
  return Status::InvalidArgument(fmt::format("unknown engine \"{}\"", name),
                                 "Use one of: vllm, llama.cpp, sglang, command, echo.");
}

ProbeSpec DefaultProbe(EngineKind kind) {
  ProbeSpec p;
  p.live = {Health()};
  switch (kind) {
    case EngineKind::kVllm:
    case EngineKind::kSglang:
      p.ready = {Health(), ListsModel()};
      p.ready_timeout_ms = 900'000;  // large checkpoints, CUDA graph capture
      break;
    case EngineKind::kLlamaCpp:
      p.ready = {Health(), ListsModel()};  // /health is 503 while loading
      break;
    case EngineKind::kEcho:
      p.ready = {Health(), ListsModel()};
      p.ready_timeout_ms = 30'000;
      break;
    case EngineKind::kCommand:
      p.ready = {Health()};
      break;
  }
  return p;
}

ProbeSpec ProbeFor(const ReplicaSpec& spec) {
  return spec.probe ? *spec.probe : DefaultProbe(spec.engine);
}

std::string SafeName(const std::string& id) {
  std::string out;
  for (char c : id) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out += keep ? c : '-';
  }
  return out.empty() || !std::isalnum(static_cast<unsigned char>(out[0])) ? "r" + out : out;
}

std::string FormatFraction(double f) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), f);
  return ec == std::errc() ? std::string(buf, end) : fmt::format("{}", f);
}

Result<std::string> ExpandPlaceholders(const std::string& word, const ReplicaSpec& spec, int port) {
  std::string out;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if ((c == '{' || c == '}') && i + 1 < word.size() && word[i + 1] == c) {
      out += c;  // "{{" or "}}"
      ++i;
      continue;
    }
    if (c == '}')
      return Status::InvalidArgument(fmt::format("stray '}}' in \"{}\"", word),
                                     "Write \"}}}}\" for a literal brace.");
    if (c != '{') {
      out += c;
      continue;
    }
    size_t close = word.find('}', i);
    if (close == std::string::npos)
      return Status::InvalidArgument(fmt::format("unclosed '{{' in \"{}\"", word),
                                     "Write \"{{{{\" for a literal brace.");
    std::string name = word.substr(i + 1, close - i - 1);
    if (name == "port")
      out += std::to_string(port);
    else if (name == "uuid" && spec.uuid.empty())
      return Status::InvalidArgument(
          fmt::format("{{uuid}} in \"{}\" has no value: the slice is not known when this is "
                      "rendered (Kubernetes picks it when the pod starts)",
                      word),
          "Drop {uuid}: the engine sees its slice as CUDA device 0.");
    else if (name == "uuid")
      out += spec.uuid;
    else if (name == "model")
      out += spec.model;
    else if (name == "source")
      out += spec.source;
    else if (name == "memory_fraction")
      out += FormatFraction(spec.memory_fraction);
    else
      return Status::InvalidArgument(
          fmt::format("unknown placeholder {{{}}} in \"{}\"", name, word),
          "Placeholders: {port} {uuid} {model} {source} {memory_fraction}.");
    i = close;
  }
  return out;
}

Result<Launch> BuildLaunch(const ReplicaSpec& spec, int port, const std::string& carve_path) {
  if (spec.uuid.empty())
    return Status::InvalidArgument("no slice: the replica has no MIG UUID")
        .Prefixed(fmt::format("model {}", spec.model));
  if (spec.launcher == Launcher::kDocker) {
    DockerOptions o;
    o.hf_cache = HostHfCache(EngineEnvironment({}, EngineUser{}));
    return DockerLaunch(spec, port, o);
  }
  CARVE_ASSIGN_OR_RETURN(EngineCommand command,
                         EngineCommandFor(spec, Site::kHost, port, carve_path));
  Launch l{command.Argv(), spec.env};
  // Both: CUDA reads the first, the NVIDIA container runtime the second.
  l.env["CUDA_VISIBLE_DEVICES"] = spec.uuid;
  l.env["NVIDIA_VISIBLE_DEVICES"] = spec.uuid;
  return l;
}

}  // namespace carve::serve
