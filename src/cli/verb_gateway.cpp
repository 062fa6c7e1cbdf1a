// carve gateway --config FILE: the OpenAI-compatible front door, standalone.
#include "cli/cli.h"
#include "cli/verbs.h"
#include "gateway/gateway.h"

namespace carve::cli {

void AddGateway(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand(
      "gateway", "Serve one OpenAI-compatible endpoint in front of engines listed in a config");
  struct Options {
    std::string config;
    std::string port_file;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--config", o->config, "Gateway config (YAML); see docs/gateway.md")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--port-file", o->port_file,
                  "Write the bound port here once listening (for listen port 0)")
      ->type_name("FILE");
  cmd->footer("SIGHUP reloads the config; SIGINT/SIGTERM drain (timeouts.drain_ms) and exit.");
  cmd->callback(Body(g, [o] { return gateway::ServeFromConfigFile(o->config, o->port_file); }));
}

}  // namespace carve::cli
