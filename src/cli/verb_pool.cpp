// carve pool load|unload MODEL [--state-dir DIR] [--timeout S]: an operator's
// hand on the on-demand models of a running carve up (docs/pools.md). `load`
// starts a cold model's engine on its pool before any request asks for it
// (evicting an idle one if it must; keep_warm: forever then pins it);
// `unload` drains and stops a resident one. Both wait for the status to
// say it is done.
#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "cli/cli.h"
#include "cli/verbs.h"
#include "up/state_dir.h"
#include "up/status.h"

namespace carve::cli {

namespace {

using Json = nlohmann::ordered_json;

struct PoolFlags {
  std::string state_dir;
  std::string model;
  double timeout_s = 300;
};

// The model's entry in the status's pools, or null.
Json PoolModel(const Json& status, const std::string& model) {
  for (const auto& p : status.value("pools", Json::array()))
    for (const auto& m : p.value("models", Json::array()))
      if (m.value("model", "") == model) return m;
  return nullptr;
}

Status PoolVerb(const Globals& g, const PoolFlags& f, const std::string& action) {
  std::string dir = UpStateDir(g, f.state_dir);
  CARVE_ASSIGN_OR_RETURN(Json status, up::ReadStatus(dir));
  if (PoolModel(status, f.model).is_null())
    return Status::NotFound(
        fmt::format("{} is not an on-demand model of the spec carve up serves ({})", f.model,
                    status.value("spec", "")),
        "carve status lists the pools and their models; only on_demand: true models load and "
        "unload.");
  CARVE_RETURN_IF_ERROR(up::RequestPool(dir, {action, f.model}));
  const std::string want = action == "load" ? "resident" : "cold";
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(f.timeout_s * 1000));
  Json m;
  std::string seen;
  while (true) {
    CARVE_ASSIGN_OR_RETURN(status, up::ReadStatus(dir));
    m = PoolModel(status, f.model);
    std::string state = m.is_null() ? "gone" : m.value("state", "");
    if (state != seen && !g.json && state != want) fmt::print(stderr, "{}: {}\n", f.model, state);
    seen = state;
    if (state == want) break;
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Error(
          Code::kTimeout, fmt::format("{} is still {} after {:.0f} s", f.model, state, f.timeout_s),
          "carve status and the service's log (STATE_DIR/up.log) say why.");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file: no event
  }
  if (g.json)
    fmt::print("{}\n", m.dump(2));
  else
    fmt::print("{} is {}.\n", f.model, want);
  return Status::Ok();
}

void AddAction(CLI::App& pool, Globals& g, const char* action, const char* help) {
  auto f = std::make_shared<PoolFlags>();
  auto* cmd = pool.add_subcommand(action, help);
  cmd->add_option("model", f->model, "An on-demand model of the running spec")->required();
  cmd->add_option("--state-dir", f->state_dir, "As given to carve up");
  cmd->add_option("--timeout", f->timeout_s, "Seconds to wait for it to be done")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback(Body(g, [&g, f, action] { return PoolVerb(g, *f, action); }));
}

}  // namespace

void AddPool(CLI::App& app, Globals& g) {
  auto* pool = app.add_subcommand("pool", "Load or unload an on-demand model of carve up's pools");
  pool->require_subcommand(1);
  AddAction(*pool, g, "load",
            "Start MODEL's engine on its pool now (evicting an idle model if it must); waits "
            "until it is resident");
  AddAction(*pool, g, "unload", "Drain and stop MODEL's engine; waits until it is cold");
}

}  // namespace carve::cli
