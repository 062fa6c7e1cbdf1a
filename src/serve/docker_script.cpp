// carve render docker's script (docker.h): shebang, what it needs, the MIG
// UUIDs looked up, then each container replaced, then the gateway.
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "serve/docker.h"

namespace carve::serve {
namespace {

constexpr char kVarMark = '\x01';

// The words of a line, each quoted for the shell, joined.
std::string Line(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + ShellWord(w);
  return out;
}

std::string Text(const DockerRun& run) {
  std::string out;
  for (size_t i = 0; i < run.lines.size(); ++i)
    out += (i ? "  " : "") + Line(run.lines[i]) + (i + 1 < run.lines.size() ? " \\\n" : "\n");
  return out;
}

std::string Replace(const std::string& name) {
  return fmt::format("docker rm -f {} >/dev/null 2>&1 || true\n", ShellQuote(name));
}

// `text` as shell comment lines of at most 80 columns.
std::string Comment(const std::string& text) {
  std::string out, line = "#";
  std::istringstream words(text);
  for (std::string w; words >> w;) {
    if (line.size() + 1 + w.size() > 80) out += line + "\n", line = "#";
    line += " " + w;
  }
  return out + line + "\n";
}

std::string Header(const std::vector<ReplicaSpec>& replicas, const DockerOptions& o,
                   bool looks_up) {
  int low = 65535, high = 0;
  for (const ReplicaSpec& r : replicas)
    low = std::min(low, *r.port), high = std::max(high, *r.port);
  std::string text =
      fmt::format("carve render docker: {} replica{}, one container per MIG slice{}.",
                  replicas.size(), replicas.size() == 1 ? "" : "s",
                  o.gateway_config.empty() ? "" : ", and the gateway on " + o.gateway_listen);
  if (looks_up)
    text +=
        " Needs Docker, the NVIDIA Container Toolkit and carve ($CARVE, default: carve on the "
        "PATH), which looks each slice's MIG UUID up when this runs: after a reboot, or after "
        "the slices were re-created, run it again (create the slices first: carve apply, or the "
        "boot unit).";
  else
    text += " Needs Docker and the NVIDIA Container Toolkit.";
  text += " It replaces containers of the same names.";
  if (!replicas.empty()) text += fmt::format(" Engines listen on 127.0.0.1:{}-{} only.", low, high);
  return "#!/bin/sh\n" + Comment(text) + "set -eu\n";
}

// uuid_N=$("$CARVE" gpus --uuid SLICE) for each replica with a slice; its
// uuid becomes the variable.
std::string LookUps(std::vector<ReplicaSpec>& replicas) {
  std::string out;
  int n = 0;
  for (ReplicaSpec& r : replicas) {
    if (r.slice.empty()) continue;
    std::string var = fmt::format("uuid_{}", n++);
    out += fmt::format("{}=$(\"$CARVE\" gpus --uuid {})  # {}\n", var, ShellQuote(r.slice), r.id);
    r.uuid = ShellVar(var);
  }
  if (out.empty()) return out;
  return "CARVE=${CARVE:-carve}\n\n# The MIG UUID of each slice now (GPU:PROFILE@START).\n" + out;
}

std::string Gateway(const DockerOptions& o) {
  std::string name = o.name_prefix + "-gateway";
  DockerRun run;
  // On the host's network: its listen address is the host's, and the
  // engines' loopback ports are its own.
  run.lines = {{"docker", "run", "-d", "--name", name, "--restart", o.restart, "--network", "host"},
               {"-e", "CARVE_GATEWAY_CONFIG=" + ShellVar("gateway_config"), "--entrypoint", "sh"},
               {o.carve_image},
               {"-c",
                "printf \"%s\\n\" \"$CARVE_GATEWAY_CONFIG\" > /tmp/gateway.yaml && "
                "exec carve gateway --config /tmp/gateway.yaml"}};
  return "\n# The gateway: one OpenAI-compatible endpoint for every model (docs/gateway.md).\n"
         "gateway_config=" +
         ShellQuote(o.gateway_config) + "\n" + Replace(name) + Text(run);
}

}  // namespace

std::string ShellVar(const std::string& name) { return kVarMark + name + kVarMark; }

std::string ShellWord(const std::string& word) {
  if (word.find(kVarMark) == std::string::npos) return ShellQuote(word);
  std::string out = "\"";
  bool in_var = false;
  for (char c : word) {
    if (c == kVarMark) {
      out += (in_var = !in_var) ? "${" : "}";
    } else if (!in_var && std::string_view("\"$`\\").find(c) != std::string_view::npos) {
      out += std::string("\\") + c;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Result<std::string> RenderDockerScript(std::vector<ReplicaSpec> replicas,
                                       const DockerOptions& options) {
  CARVE_RETURN_IF_ERROR(AssignDockerPorts(replicas, options));
  std::string lookups = LookUps(replicas);
  std::string out = Header(replicas, options, !lookups.empty());
  if (!lookups.empty()) out += "\n" + lookups;
  for (ReplicaSpec& r : replicas) {
    CARVE_ASSIGN_OR_RETURN(DockerRun run, BuildDockerRun(r, *r.port, options, DockerMode::kScript));
    out += fmt::format("\n# {} ({}) on {}\n", r.model, EngineName(r.engine),
                       r.slice.empty() ? r.uuid : "GPU " + r.slice);
    out += Replace(ContainerName(r, options)) + Text(run);
  }
  if (!options.gateway_config.empty()) out += Gateway(options);
  return out;
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

}  // namespace carve::serve
