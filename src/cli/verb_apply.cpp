// carve apply FILE [-c NAME] [--dry-run] [--force] [--yes] [--state-dir DIR]
//                  [--install | --uninstall] [--unit-dir DIR]
// Makes the GPUs hold the layout in FILE: placement-exact, smallest change,
// journaled, verified, restored on failure (docs/apply.md).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "apply/applied.h"
#include "apply/boot_unit.h"
#include "apply/layout_file.h"
#include "apply/reconcile.h"
#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "render/apply_preview.h"
#include "render/style.h"
#include "util/read_file.h"

namespace carve::cli {

namespace {

namespace fs = std::filesystem;

struct Opts {
  std::string file, config, state_dir, unit_dir = apply::kDefaultUnitDir;
  bool dry_run = false, force = false, yes = false, install = false, uninstall = false;
};

apply::Options ReconcileOptions(const Globals& g, const Opts& o) {
  apply::Options ro;
  ro.force = o.force;
  ro.state_dir = StateDirFor(g, o.state_dir);
  if (const char* n = std::getenv("CARVE_TEST_CRASH_AFTER_OP")) ro.crash_after_op = std::atoi(n);
  bool progress = Interactive() && !g.json;
  ro.on_op = [progress](const apply::Op& op, int n, int total) {
    if (progress) fmt::print("[{}/{}] {}\n", n, total, op.Describe());
    std::fflush(stdout);
  };
  ro.on_note = [](const std::string& s) { std::fprintf(stderr, "carve: %s\n", s.c_str()); };
  return ro;
}

std::string OutcomeLines(const apply::Outcome& out) {
  std::string text;
  for (const auto& p : out.stopped) text += fmt::format("Stopped {}.\n", apply::ProcessText(p));
  for (const auto& gpu : out.gpus) text += apply::OutcomeText(gpu) + "\n";
  return text;
}

// Prints the outcome; the Status is what the verb returns.
Status Finish(const Globals& g, const apply::Outcome& out, const std::string& done) {
  if (g.json) fmt::print("{}\n", render::OutcomeJson(out).dump(2));
  if (out.status.ok()) {
    if (!g.json) fmt::print("{}{}\n", OutcomeLines(out), done);
    return Status::Ok();
  }
  std::string lines = OutcomeLines(out);
  if (!lines.empty() && lines.back() == '\n') lines.pop_back();
  return Status::Error(
      out.status.code(), out.status.message(),
      (out.rolled_back ? "Rolled back. " : "") + std::string("What each GPU holds now:\n") + lines);
}

Status RecoverFirst(const Globals& g, apply::Reconciler& r) {
  CARVE_ASSIGN_OR_RETURN(std::optional<apply::Outcome> rec, r.Recover());
  if (!rec) return Status::Ok();
  // A recovery that could not finish but rolled back left every GPU as it was
  // before the interrupted apply: a sound place to start this one from.
  if (!rec->status.ok() && !rec->rolled_back) return Finish(g, *rec, "");
  if (!rec->status.ok())
    std::fprintf(stderr, "carve: could not finish it (%s); rolled it back\n",
                 rec->status.message().c_str());
  for (const auto& gpu : rec->gpus)
    std::fprintf(stderr, "carve: recovered: %s\n", apply::OutcomeText(gpu).c_str());
  return Status::Ok();
}

// Notes what the GPUs hold now for carve doctor's boot check. A failure to
// note it is said, but does not undo a successful apply.
void Remember(const Globals& g, const Opts& o, device::Machine& m) {
  auto gpus = m.Gpus();
  Status st = gpus.ok() ? apply::RecordApplied(StateDirFor(g, o.state_dir),
                                               fs::absolute(o.file).string(), *gpus)
                        : gpus.status();
  if (!st.ok())
    std::fprintf(stderr, "carve: could not note the layout for carve doctor: %s\n",
                 st.message().c_str());
}

Status Install(const Globals& g, const Opts& o, const std::string& text, device::Machine& m) {
  CARVE_ASSIGN_OR_RETURN(auto gpus, m.Gpus());
  CARVE_ASSIGN_OR_RETURN(auto layouts, apply::LoadLayoutFile(text, o.file, o.config, gpus));
  CARVE_RETURN_IF_ERROR(apply::MakeChanges(gpus, layouts, false).status());
  std::string state = fs::absolute(StateDirFor(g, o.state_dir)).string();
  std::error_code ec;
  fs::create_directories(state, ec);
  std::string copy = state + "/boot-layout.yaml";
  fs::copy_file(o.file, copy, fs::copy_options::overwrite_existing, ec);
  if (ec) return Status::Io(fmt::format("cannot copy {} to {}: {}", o.file, copy, ec.message()));
  apply::UnitOptions u{fs::read_symlink("/proc/self/exe").string(), {}, copy, o.config, state};
  if (g.backend == "nvml")
    u.globals = {"--backend", "nvml"};
  else if (!g.sim.empty())
    u.globals = {"--sim", fs::absolute(g.sim).string()};
  CARVE_RETURN_IF_ERROR(apply::InstallUnit(o.unit_dir, apply::BootUnit(u)));
  CARVE_RETURN_IF_ERROR(
      apply::RecordBootUnit(state, fs::absolute(o.file).string(),
                            fs::absolute(o.unit_dir).string() + "/" + apply::kUnitName));
  fmt::print(
      "Installed {}/{}: at every boot it applies {} (a copy of {}; rerun --install after "
      "editing it).\n",
      o.unit_dir, apply::kUnitName, copy, o.file);
  if (o.unit_dir == apply::kDefaultUnitDir) fmt::print("Now run: systemctl daemon-reload\n");
  return Status::Ok();
}

Status Preview(const Globals& g, const apply::Changes& plan, bool force) {
  if (g.json) {
    fmt::print("{}\n", render::ChangesJson(plan, force).dump(2));
  } else {
    fmt::print("{}", render::RenderChanges(plan, force, render::Style::ForStdout(g.no_color)));
  }
  return Status::Ok();
}

Status Run(const Globals& g, const Opts& o) {
  if (o.uninstall) {
    CARVE_RETURN_IF_ERROR(apply::UninstallUnit(o.unit_dir));
    if (auto had = apply::ReadApplied(StateDirFor(g, o.state_dir)); had.ok() && *had)
      CARVE_RETURN_IF_ERROR(apply::RecordBootUnit(StateDirFor(g, o.state_dir), (*had)->layout, ""));
    fmt::print("Removed {}/{}; the layout is no longer re-applied at boot.\n", o.unit_dir,
               apply::kUnitName);
    return Status::Ok();
  }
  if (o.file.empty()) return Status::InvalidArgument("name the layout file: carve apply FILE");
  // Bad input is refused before anything else: before the lock and before
  // recovering an interrupted apply.
  CARVE_ASSIGN_OR_RETURN(std::string text, ReadLayoutText(o.file));
  CARVE_ASSIGN_OR_RETURN(auto m, OpenMachine(g));
  if (o.install) return Install(g, o, text, *m);
  std::optional<FileLock> lock;
  apply::Reconciler r(*m, ReconcileOptions(g, o));
  if (!o.dry_run) {
    CARVE_ASSIGN_OR_RETURN(lock, LockForChanges(*m, /*wait=*/false, "apply " + o.file));
    CARVE_RETURN_IF_ERROR(RecoverFirst(g, r));
  } else if (std::string note = apply::PendingNote(StateDirFor(g, o.state_dir)); !note.empty()) {
    std::fprintf(stderr, "carve: %s\n", note.c_str());
  }
  CARVE_ASSIGN_OR_RETURN(auto gpus, m->Gpus());
  CARVE_ASSIGN_OR_RETURN(auto layouts, apply::LoadLayoutFile(text, o.file, o.config, gpus));
  CARVE_ASSIGN_OR_RETURN(apply::Changes plan, apply::MakeChanges(gpus, layouts, o.force));
  if (o.dry_run) return Preview(g, plan, o.force);
  if (plan.empty()) {
    CARVE_RETURN_IF_ERROR(Preview(g, plan, o.force));
    Remember(g, o, *m);
    return Status::Ok();
  }
  if (!g.json) CARVE_RETURN_IF_ERROR(Preview(g, plan, o.force));
  if (plan.in_use() && !o.force) return apply::InUseRefusal(plan);
  if (!o.yes && !Interactive())
    return Status::InvalidArgument(
        "carve apply changes GPUs, and there is no terminal to confirm on",
        "Pass --yes to apply, or --dry-run to only look. Nothing was changed.");
  if (!o.yes) {
    size_t n = plan.ops.size();
    CARVE_RETURN_IF_ERROR(
        Confirm(fmt::format("Apply these {} operation{}?", n, n == 1 ? "" : "s"), "applied"));
  }
  CARVE_RETURN_IF_ERROR(Finish(
      g, r.Apply(plan), "Applied and verified: every GPU holds its layout, placement-exactly."));
  Remember(g, o, *m);
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadLayoutText(const std::string& path) {
  return ReadFileBounded(path, kMaxConfigBytes, "layout file");
}

// The journal lives in --state-dir; by default next to the simulator's state
// file (SIMFILE.d, also when the NVML drop-in runs on it), else /var/lib/carve.
std::string StateDirFor(const Globals& g, const std::string& flag) {
  if (!flag.empty()) return flag;
  if (!g.sim.empty()) return g.sim + ".d";
  return "/var/lib/carve";
}

void AddApply(CLI::App& app, Globals& g) {
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("apply",
                                 "Make the GPUs hold a layout: smallest change, verified, undone "
                                 "on failure");
  cmd->add_option("file", o->file, "Layout file: carve.yaml with gpus:, or a mig-parted config");
  cmd->add_option("-c,--config", o->config, "The mig-parted config to use (mig-configs: NAME)");
  cmd->add_flag("--dry-run", o->dry_run, "Show what would change, change nothing");
  cmd->add_flag("--force", o->force, "Stop processes using slices that must go (and list them)");
  cmd->add_flag("--yes,-y", o->yes, "Do not ask for confirmation");
  cmd->add_option("--state-dir", o->state_dir,
                  "Journal directory (default: SIMFILE.d, or /var/lib/carve)");
  cmd->add_flag("--install", o->install,
                "Install a systemd unit that re-applies FILE at every boot");
  cmd->add_flag("--uninstall", o->uninstall, "Remove that unit");
  cmd->add_option("--unit-dir", o->unit_dir, "Where the unit goes (default /etc/systemd/system)");
  cmd->callback(Body(g, [&g, o] { return Run(g, *o); }));
}

}  // namespace carve::cli
