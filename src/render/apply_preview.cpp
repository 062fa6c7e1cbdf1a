#include "render/apply_preview.h"

#include <fmt/format.h>

#include <set>

#include "render/layout_bar.h"
#include "render/table.h"

namespace carve::render {
namespace {

using apply::GpuDiff;
using apply::SliceChange;
using nlohmann::ordered_json;

std::string Join(const std::vector<std::string>& parts, std::string_view sep = ", ") {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(sep)) + p;
  return out;
}

std::string Procs(const std::vector<device::Process>& ps) {
  std::vector<std::string> parts;
  for (const auto& p : ps) parts.push_back(apply::ProcessText(p));
  return Join(parts);
}

std::vector<std::string> AfterBar(const GpuDiff& d) {
  std::vector<BarSegment> segs;
  for (const auto& k : d.keep)
    segs.push_back({*k.spec.start, k.spec.profile->size(), k.spec.profile->name, "kept"});
  for (const auto& c : d.create)
    segs.push_back({*c.spec.start, c.spec.profile->size(), c.spec.profile->name, "new"});
  return DrawBar(d.before.model->placement_units, segs);
}

void Picture(std::string& out, const char* label, bool mig_on,
             const std::vector<std::string>& bar) {
  if (!mig_on) {
    out += fmt::format("  {:<7}MIG off (whole GPU)\n", label);
    return;
  }
  for (size_t i = 0; i < 3; ++i) out += fmt::format("  {:<7}{}\n", i == 0 ? label : "", bar[i]);
}

std::string KeepText(const SliceChange& k) {
  if (k.processes.empty()) return k.spec.Name() + " (idle)";
  std::vector<std::string> ps;
  for (const auto& p : k.processes) ps.push_back(fmt::format("{}, pid {}", p.name, p.pid));
  return fmt::format("{} ({})", k.spec.Name(), Join(ps, "; "));
}

void GpuText(std::string& out, const GpuDiff& d, const Style& st) {
  const device::Gpu& g = d.before;
  std::string title =
      st.Bold(fmt::format("GPU {}", g.index)) + " " + (g.model ? g.model->name : g.name);
  if (d.empty()) {
    out += title + "   no change\n";
    return;
  }
  out += title + "\n";
  if (g.model && g.model->mig) {
    Picture(out, "before", g.mig.current, DrawGpu(g));
    Picture(out, "after", d.after.mig, AfterBar(d));
  }
  std::vector<std::string> keep, create;
  for (const auto& k : d.keep) keep.push_back(KeepText(k));
  for (const auto& c : d.create) create.push_back(c.spec.Name());
  if (!keep.empty()) out += "  keep    " + Join(keep) + "\n";
  for (const auto& c : d.destroy) {
    std::string use = c.processes.empty() ? "idle" : st.Yellow("in use by " + Procs(c.processes));
    out += fmt::format("  destroy {} (GI {}): {}; {}\n", c.spec.Name(), c.gi, use, c.why);
  }
  if (!create.empty()) out += "  create  " + Join(create) + "\n";
  if (d.mode_change) {
    out += fmt::format("  mode    MIG {} → {}{}\n", g.mig.current ? "on" : "off",
                       d.after.mig ? "on" : "off",
                       d.reset ? fmt::format(" (resets GPU {} only)", g.index) : "");
    if (!d.mode_blockers.empty())
      out += "          " + st.Yellow("in use by " + Procs(d.mode_blockers)) + "\n";
  }
}

}  // namespace

std::string Verdict(const apply::Changes& plan, bool force) {
  if (plan.empty()) return "Verdict: nothing to do; every GPU the layout names already holds it.";
  std::vector<std::string> changed, modes, resets;
  std::vector<device::Process> stopped;
  for (const auto& d : plan.gpus) {
    if (d.empty()) continue;
    changed.push_back(std::to_string(d.before.index));
    if (d.mode_change) modes.push_back(std::to_string(d.before.index));
    if (d.reset) resets.push_back(std::to_string(d.before.index));
    for (const auto& c : d.destroy)
      stopped.insert(stopped.end(), c.processes.begin(), c.processes.end());
    stopped.insert(stopped.end(), d.mode_blockers.begin(), d.mode_blockers.end());
  }
  if (!stopped.empty() && !force)
    return fmt::format("Verdict: refused: {} in use ({}); stop it, or rerun with --force.",
                       stopped.size() == 1 ? "a slice to change is" : "slices to change are",
                       Procs(stopped));
  size_t ops = 0;
  for (const auto& op : plan.ops) ops += op.kind != apply::OpKind::kStopProcess;
  std::string where = changed.size() == 1 ? "GPU " + changed[0] + " only" : "GPUs " + Join(changed);
  std::string mode =
      modes.empty()
          ? "no MIG mode change, no reset"
          : fmt::format("MIG mode change on GPU {}; {}", Join(modes),
                        resets.empty() ? "no reset" : "reset of GPU " + Join(resets) + " only");
  std::string use = stopped.empty() ? "nothing in use is touched"
                                    : fmt::format("--force stops {}", Procs(stopped));
  return fmt::format("Verdict: {} operation{} on {}; {}; {}.", ops, ops == 1 ? "" : "s", where,
                     mode, use);
}

std::string RenderChanges(const apply::Changes& plan, bool force, const Style& st) {
  std::string out;
  for (const auto& d : plan.gpus) GpuText(out, d, st);
  return out + Verdict(plan, force) + "\n";
}

ordered_json ChangesJson(const apply::Changes& plan, bool force) {
  ordered_json gpus = ordered_json::array();
  for (const auto& d : plan.gpus) {
    ordered_json keep = ordered_json::array(), create = ordered_json::array(),
                 destroy = ordered_json::array();
    for (const auto& k : d.keep) keep.push_back(k.spec.Name());
    for (const auto& c : d.create) create.push_back(c.spec.Name());
    for (const auto& c : d.destroy) {
      ordered_json procs = ordered_json::array();
      for (const auto& p : c.processes)
        procs.push_back({{"pid", p.pid}, {"name", p.name}, {"memory_mib", p.memory_mib}});
      destroy.push_back(
          {{"slice", c.spec.Name()}, {"gi", c.gi}, {"why", c.why}, {"processes", procs}});
    }
    gpus.push_back({{"index", d.before.index},
                    {"change", !d.empty()},
                    {"keep", keep},
                    {"destroy", destroy},
                    {"create", create},
                    {"mode_change", d.mode_change},
                    {"mig_after", d.after.mig},
                    {"reset", d.reset}});
  }
  ordered_json ops = ordered_json::array();
  for (const auto& op : plan.ops) ops.push_back(op.Describe());
  return {{"gpus", gpus},
          {"operations", ops},
          {"in_use", plan.in_use()},
          {"verdict", Verdict(plan, force)}};
}

ordered_json OutcomeJson(const apply::Outcome& out) {
  static const char* kHeld[] = {"target", "before", "other"};
  ordered_json gpus = ordered_json::array();
  for (const auto& g : out.gpus)
    gpus.push_back(
        {{"index", g.gpu}, {"holds", kHeld[static_cast<int>(g.held)]}, {"layout", g.holds}});
  ordered_json stopped = ordered_json::array();
  for (const auto& p : out.stopped) stopped.push_back({{"pid", p.pid}, {"name", p.name}});
  return {{"ok", out.status.ok()},
          {"error", out.status.ok() ? "" : out.status.message()},
          {"rolled_back", out.rolled_back},
          {"operations", out.ops_done},
          {"stopped", stopped},
          {"gpus", gpus}};
}

}  // namespace carve::render
