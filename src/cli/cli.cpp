#include "cli/cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cli/verbs.h"

namespace carve::cli {

namespace {
// One row per verb; the order is the order of `carve --help`.
struct VerbRow {
  AddVerbFn add;
};
const VerbRow kVerbs[] = {
    {AddGpus},   {AddProfiles}, {AddMig},    {AddPlan}, {AddSize},    {AddApply},     {AddAssert},
    {AddExport}, {AddRender},   {AddUp},     {AddDown}, {AddStatus},  {AddRebalance}, {AddPool},
    {AddTop},    {AddAdvise},   {AddDoctor}, {AddSim},  {AddCatalog}, {AddGateway},   {AddEngine},
};
}  // namespace

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kInvalidArgument:
      return kExitUsage;
    case Code::kNotFound:
      return kExitNotFound;
    case Code::kInUse:
    case Code::kInsufficientResources:
    case Code::kNotSupported:
    case Code::kResetRequired:
    case Code::kAlreadyExists:
    case Code::kNoPermission:
      return kExitRefused;
    case Code::kBusy:
      return kExitBusy;
    case Code::kUnavailable:
      return kExitNoBackend;
    case Code::kInternal:
      return kExitInternal;
    default:
      return kExitFailed;
  }
}

bool Interactive() { return ::isatty(0) && ::isatty(1); }

Status Confirm(const std::string& question, const std::string& what) {
  fmt::print("{} [y/N] ", question);
  std::fflush(stdout);
  std::string answer;
  std::getline(std::cin, answer);
  if (answer == "y" || answer == "Y" || answer == "yes") return Status::Ok();
  return Status::Error(Code::kUnknown, fmt::format("not {}: you said no", what),
                       "Nothing was changed.");
}

Status ParsePortRange(const std::string& text, int& first, int& last) {
  char end = 0;
  if (std::sscanf(text.c_str(), "%d-%d%c", &first, &last, &end) != 2 || first <= 0 ||
      last < first || last > 65535)
    return Status::InvalidArgument(fmt::format("--engine-ports '{}' is not a port range", text),
                                   "Write FIRST-LAST, e.g. 20000-20999.");
  return Status::Ok();
}

int Report(const Status& s) {
  if (s.ok()) return kExitOk;
  std::string text = "carve: " + s.message();
  if (!s.hint().empty()) {
    std::string hint = s.hint();
    size_t pos = 0;
    while ((pos = hint.find('\n', pos)) != std::string::npos)
      hint.replace(pos, 1, "\n       "), pos += 8;
    text += "\n       " + hint;
  }
  std::fprintf(stderr, "%s\n", text.c_str());
  return ExitCodeFor(s);
}

std::function<void()> Body(Globals& g, std::function<Status()> fn) {
  return [&g, fn = std::move(fn)] { g.exit_code = Report(fn()); };
}

int Main(int argc, char** argv) {
  CLI::App app{"carve: right-sized, isolated inference endpoints on NVIDIA MIG GPUs.", "carve"};
  app.set_version_flag("--version", "carve " CARVE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global flags also after the verb: carve gpus --json
  Globals g;
  if (const char* env = std::getenv("CARVE_SIM")) g.sim = env;
  app.add_option("--sim", g.sim, "Use the simulated machine in FILE (or set CARVE_SIM)")
      ->type_name("FILE");
  app.add_option("--backend", g.backend, "nvml, sim, or auto (default)")
      ->check(CLI::IsMember({"auto", "nvml", "sim"}));
  app.add_flag("--json", g.json, "Machine-readable output (read-only verbs)");
  app.add_flag("--no-color", g.no_color, "No colour even on a terminal");
  for (const auto& row : kVerbs) row.add(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  } catch (const std::exception& e) {  // no module throws across its boundary: a bug
    return Report(Status::Internal(fmt::format(
        "internal error: {} (a bug: please report it with the command line)", e.what())));
  }
  return g.exit_code;
}

}  // namespace carve::cli
