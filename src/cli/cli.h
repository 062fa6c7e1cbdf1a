// The carve command line. Every verb lives in its own file (verb_<name>.cpp)
// and registers itself through one row of the table in cli.cpp, which is also
// what `carve --help` prints. Verbs parse flags, call the modules and render;
// logic a test wants to reach lives in the modules, not here.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "util/status.h"

namespace carve::cli {

// Exit codes, documented in docs/cli.md.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,     // the verb ran and the answer is "no" (e.g. assert found differences)
  kExitUsage = 2,      // bad flags, bad input file
  kExitRefused = 3,    // the hardware (or simulator) refused: in use, no room, not supported
  kExitBusy = 4,       // another carve holds the machine
  kExitNoBackend = 5,  // no driver and no simulator
  kExitNotFound = 6,   // no such GPU, instance, file
  kExitInternal = 70,
};

// Flags every verb shares.
struct Globals {
  bool json = false;  // machine-readable output on stdout
  std::string sim;    // --sim FILE / CARVE_SIM
  std::string backend = "auto";
  bool no_color = false;
  int exit_code = kExitOk;
};

// Maps a Status to its exit code.
int ExitCodeFor(const Status& s);
// Prints "carve: <message>" and the hint, indented, to stderr; returns the exit code.
int Report(const Status& s);

// Adds one verb to `app`. The verb's callback stores its exit code in g.exit_code.
using AddVerbFn = void (*)(CLI::App& app, Globals& g);

// Wraps a verb body: runs it, reports a failed Status, records the exit code.
std::function<void()> Body(Globals& g, std::function<Status()> fn);

// --engine-ports FIRST-LAST (carve up, carve render docker); kInvalidArgument
// with the form to write.
Status ParsePortRange(const std::string& text, int& first, int& last);

// Whether stdin and stdout are a terminal: a person who can be asked.
bool Interactive();
// Asks `question` [y/N] on the terminal; Ok on yes, else an error saying
// "not WHAT: you said no" and that nothing was changed.
Status Confirm(const std::string& question, const std::string& what);

int Main(int argc, char** argv);

}  // namespace carve::cli
