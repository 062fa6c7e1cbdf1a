// Short programs carve runs to ask something before it starts engines
// (`vllm --version`, `docker image inspect`, `docker stop`): run, wait at most
// a deadline, collect what they print. Built on Spawn (process.h): the same
// user switch, process group and parent-death signal as an engine.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "serve/process.h"
#include "util/status.h"

namespace carve::serve {

struct CommandRequest {
  std::vector<std::string> argv;           // argv[0] without '/' is searched on env's PATH
  std::map<std::string, std::string> env;  // the complete environment
  EngineUser user;                         // run as (switch_to), else as carve
  std::chrono::milliseconds timeout{20'000};
};

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string output;  // stdout and stderr together, at most 64 KiB
};

// Runs the command to its end. kNotFound when the program is not on PATH,
// kTimeout (its process group killed) when it outlives the timeout, kIo when
// it cannot be started.
Result<CommandResult> RunCommand(const CommandRequest& request);

}  // namespace carve::serve
