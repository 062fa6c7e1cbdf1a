// carve engine echo …: carve's own OpenAI-compatible engine, as a real process.
#include <cstdlib>

#include "cli/cli.h"
#include "cli/verbs.h"
#include "echo/engine.h"
#include "util/activity_file.h"

namespace carve::cli {

void AddEngine(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("engine", "Run one of carve's built-in engines in the foreground");
  cmd->require_subcommand(1);
  auto* echo = cmd->add_subcommand(
      "echo", "OpenAI-compatible engine with deterministic answers, for demos, tests, benchmarks");
  echo->footer(
      "A simulated device failure (carve sim fail) reaches it as a file named fault beside "
      "$CARVE_ACTIVITY_FILE (else in its working directory): on the next request it dies at once "
      "(exit 1, CUDA's error on stderr, the request unanswered), and it will not start then.");
  auto o = std::make_shared<echo::EchoOptions>();
  auto models = std::make_shared<std::vector<std::string>>();
  echo->add_option("--host", o->host, "Address to listen on")->capture_default_str();
  echo->add_option("--port", o->port, "Port (0: pick a free one and print it)")
      ->capture_default_str();
  echo->add_option("--port-file", o->port_file, "Write the bound port here once listening")
      ->type_name("FILE");
  echo->add_option("--model", *models, "Model id to serve (repeatable; default: echo)")
      ->type_name("NAME");
  echo->add_option("--tokens", o->tokens, "Tokens per completion when the request sets none")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  echo->add_option("--first-token-ms", o->first_token_ms, "Delay before the first token")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  echo->add_option("--token-delay-ms", o->token_delay_ms, "Delay between tokens")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  echo->add_option("--startup-delay-ms", o->startup_delay_ms,
                   "Delay before it listens, standing for a model's load time (a stop meanwhile "
                   "ends it at once)")
      ->check(CLI::Range(0, 3'600'000))
      ->capture_default_str();
  echo->add_option("--embedding-dim", o->embedding_dim, "Length of embedding vectors")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  echo->add_option("--threads", o->threads, "Serving threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  echo->callback(Body(g, [o, models] {
    if (!models->empty()) o->models = *models;
    if (const char* dev = std::getenv("CUDA_VISIBLE_DEVICES")) o->device = dev;
    if (const char* file = std::getenv("CARVE_ACTIVITY_FILE")) o->activity_file = file;
    // The simulator's fault file: beside the activity file, else in the
    // working directory (the same place under carve up).
    o->fault_file = o->activity_file.empty() ? "fault" : FaultFileBeside(o->activity_file);
    return echo::RunEchoEngine(*o);
  }));
}

}  // namespace carve::cli
