// carve rebalance [--state-dir DIR] [--dry-run] [--yes]: re-plans what carve
// up serves when that frees a GPU or serves a waiting model and is worth the
// engines it moves (up/rebalance.h decides; docs/live.md, "Rebalance"), shows
// before and after, and has the running service converge to it, make before
// break. This file reads the status and the machine, draws and asks.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <set>
#include <thread>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "plan/spec_plan.h"
#include "render/layout_bar.h"
#include "up/rebalance.h"
#include "up/state_dir.h"
#include "up/status.h"

namespace carve::cli {

namespace {

using Json = nlohmann::ordered_json;

struct RebalanceFlags {
  std::string state_dir;
  bool dry_run = false, yes = false;
};

// The pinned replicas: on-demand ones live in their pools, which a rebalance
// leaves as they are (docs/pools.md).
std::vector<up::RunningReplica> RunningOf(const Json& status) {
  std::set<std::string> pooled;
  for (const auto& p : status.value("pools", Json::array()))
    for (const auto& s : p.value("slices", Json::array()))
      for (const auto& r : s.value("residents", Json::array()))
        pooled.insert(r.value("replica", ""));
  std::vector<up::RunningReplica> out;
  for (const auto& r : status["replicas"]) {
    if (pooled.count(r.value("id", ""))) continue;
    up::RunningReplica x;
    x.id = r.value("id", "");
    x.model = r.value("model", "");
    x.slot.gpu = r.value("gpu", 0);
    x.slot.profile = r.value("profile", "");
    x.slot.start = r.value("start", 0);
    x.pid = r.value("pid", 0);
    out.push_back(std::move(x));
  }
  return out;
}

// Both candidates that serve every model (rebalance.h), kept first.
Result<up::RebalanceDecision> DecideNow(const spec::Spec& spec,
                                        const std::vector<device::Gpu>& gpus,
                                        const std::vector<up::RunningReplica>& running) {
  std::vector<up::Candidate> candidates;
  for (up::Replan r : {up::Replan::kKept, up::Replan::kFresh}) {
    CARVE_ASSIGN_OR_RETURN(plan::Plan p, r == up::Replan::kKept
                                             ? plan::PlanSpecOnMachine(spec, gpus)
                                             : plan::PlanSpecOnMachineFresh(spec, gpus));
    auto c = up::Evaluate(r, std::move(p), spec, gpus, running);
    if (c.ok()) candidates.push_back(std::move(*c));
  }
  return up::Decide(std::move(candidates), gpus, running);
}

void PrintPictures(const char* title, const std::vector<up::GpuPicture>& pics) {
  fmt::print("{}\n", title);
  for (const auto& p : pics) {
    std::vector<render::BarSegment> segs;
    for (const auto& s : p.slices) {
      std::string who;
      for (const auto& m : s.models) who += (who.empty() ? "" : ",") + m;
      segs.push_back({s.start, s.size, s.profile, who.empty() ? "idle" : who});
    }
    fmt::print("  GPU {}{}\n", p.gpu, segs.empty() ? "  (free)" : "");
    for (const auto& line : render::DrawBar(p.units, segs)) fmt::print("    {}\n", line);
  }
}

std::string Unavailability(const up::RebalanceMove& m) {
  if (!m.stop_first)
    return "none: make before break (the old engine serves until the new one is ready)";
  if (!m.temporary.empty())
    return fmt::format(
        "none: stop first ({}), while {} serves from a temporary home on {} (made ready before, "
        "gone after)",
        m.why, m.model, m.temporary);
  return fmt::format(
      "stop first ({}): {} waits until its new engine is ready (at most its ready timeout, {:.0f} "
      "s; "
      "requests are held, gateway.timeouts.hold_ms)",
      m.why, m.model, m.ready_timeout_ms / 1000.0);
}

void PrintDecision(const up::RebalanceDecision& d) {
  PrintPictures("Now:", d.before);
  if (!d.change) {
    fmt::print("\n{}\n", d.why);
    return;
  }
  PrintPictures("\nAfter rebalancing:", d.chosen.after);
  fmt::print("\nRebalance ({} plan): {}\n", up::ReplanName(d.chosen.replan), d.why);
  for (const auto& m : d.chosen.moves)
    fmt::print("  move {}: {} → {}\n    unavailable: {}\n", m.id, m.from.where(), m.to.where(),
               Unavailability(m));
  for (const auto& s : d.chosen.starts) fmt::print("  start a replica of {}\n", s);
  for (const auto& s : d.chosen.stops) fmt::print("  stop {} (the spec no longer wants it)\n", s);
  for (int gpu : d.chosen.gpus_freed)
    fmt::print("  GPU {} freed: its slices are destroyed, it holds nothing\n", gpu);
}

// Asks the service to rebalance and, on a terminal, prints its log's new
// lines (the detached service's progress) until it answers.
Status Execute(const std::string& dir, const std::string& spec, up::Replan replan, bool progress) {
  std::ifstream log(up::StatePath(dir, up::kLogFile));
  log.seekg(0, std::ios::end);
  auto answer = std::async(std::launch::async, [&] {
    return up::RequestReload(dir, spec, std::chrono::minutes(20), up::ReplanName(replan));
  });
  auto show = [&] {
    std::string line;
    while (progress && log && std::getline(log, line)) fmt::print("  {}\n", line);
    log.clear();
    std::fflush(stdout);
  };
  while (answer.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) show();
  show();
  return answer.get();
}

Status Rebalance(const Globals& g, const RebalanceFlags& f) {
  std::string dir = UpStateDir(g, f.state_dir);
  CARVE_ASSIGN_OR_RETURN(Json status, up::ReadStatus(dir));
  std::string spec_path = status.value("spec", "");
  CARVE_ASSIGN_OR_RETURN(spec::Spec spec, spec::LoadSpec(spec_path));
  CARVE_ASSIGN_OR_RETURN(auto machine, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(auto gpus, machine->Gpus());
  CARVE_ASSIGN_OR_RETURN(up::RebalanceDecision d, DecideNow(spec, gpus, RunningOf(status)));
  Json out = up::RebalanceJson(d);
  if (!g.json) PrintDecision(d);
  bool act = d.change && !f.dry_run;
  if (act && !f.yes && (g.json || !Interactive()))
    return Status::InvalidArgument(
        "carve rebalance changes what carve up runs, and there is no terminal to confirm on",
        "Pass --yes to rebalance, or --dry-run to only look. Nothing was changed.");
  if (act && !f.yes) CARVE_RETURN_IF_ERROR(Confirm("Rebalance now?", "rebalanced"));
  Status done = act ? Execute(dir, spec_path, d.chosen.replan, !g.json) : Status::Ok();
  if (g.json) {
    out["executed"] = act && done.ok();
    fmt::print("{}\n", out.dump(2));
  }
  CARVE_RETURN_IF_ERROR(done);
  if (act && !g.json) {
    fmt::print("Rebalanced.\n");
    if (auto st = up::ReadStatus(dir); st.ok()) fmt::print("{}", up::StatusText(*st));
  }
  return Status::Ok();
}

}  // namespace

void AddRebalance(CLI::App& app, Globals& g) {
  auto f = std::make_shared<RebalanceFlags>();
  auto* cmd = app.add_subcommand("rebalance",
                                 "Re-plan carve up when that frees a GPU and is worth the engines "
                                 "it moves (make before break)");
  cmd->add_option("--state-dir", f->state_dir, "As given to carve up");
  cmd->add_flag("--dry-run", f->dry_run, "Show the decision, change nothing");
  cmd->add_flag("--yes,-y", f->yes, "Do not ask for confirmation");
  cmd->callback(Body(g, [&g, f] { return Rebalance(g, *f); }));
}

}  // namespace carve::cli
