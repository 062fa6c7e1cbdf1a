// carve advise [--state-dir DIR] [--window DURATION] [--apply] [--yes]:
// from the running carve up's measured traffic, a new replica count per model
// with headroom, the layout it makes and what changes to get there
// (docs/live.md, "carve advise"). --apply carries it out live.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/machine_open.h"
#include "cli/verbs.h"
#include "render/layout_bar.h"
#include "render/plan_render.h"
#include "spec/quantity.h"
#include "up/advise.h"
#include "up/advise_change.h"
#include "up/advise_inputs.h"
#include "up/state_dir.h"
#include "util/format_version.h"

namespace carve::cli {
namespace {

using Json = nlohmann::ordered_json;

struct AdviseFlags {
  std::string state_dir, window = "5m";
  bool apply = false, yes = false;
};

// "90s", "5m", "300" (seconds; spec::ParseDurationS): at least 10 s, at most the 15 minutes kept.
Result<std::chrono::seconds> ParseWindow(const std::string& text) {
  auto s = spec::ParseDurationS(text);
  if (!s.ok() || *s < up::kMinWindowS || *s > up::TrafficHistory::kKeep.count())
    return Status::InvalidArgument(
        fmt::format("--window '{}' is not a duration from 10s to 15m", text),
        "Write e.g. 90s or 5m (carve up keeps 15 minutes of traffic).");
  return std::chrono::seconds(*s);
}

struct Advised {
  up::ServiceState st;
  std::vector<up::AdviceInput> in;
  std::vector<up::Advice> advice;
  up::Overrides overrides;  // overrides.json as --apply writes it
  spec::Spec next;
  std::vector<device::Gpu> gpus;  // the machine now
  up::ChangePreview change;
};

Json QuantilesJson(const std::optional<up::Quantiles>& q) {
  if (!q) return nullptr;
  return {{"p50", q->p50}, {"p99", q->p99}};
}

Json TrafficJson(const up::WindowTraffic& t) {
  return {{"requests_per_s", t.requests_per_s},
          {"tokens_per_s", t.tokens_per_s},
          {"errors_per_s", t.errors_per_s},
          {"latency_ms", QuantilesJson(t.latency_ms)},
          {"ttft_ms", QuantilesJson(t.ttft_ms)},
          {"in_flight", t.in_flight},
          {"queued", t.queued},
          {"replicas", t.replicas}};
}

const spec::Model* ModelOf(const spec::Spec& s, const std::string& name) {
  for (const auto& m : s.models)
    if (m.name == name) return &m;
  return nullptr;
}

Json ModelJson(const Advised& a, size_t i) {
  const up::Advice& adv = a.advice[i];
  const spec::Model* m = ModelOf(a.st.spec, adv.model);
  Json thr = nullptr;
  if (m && m->throughput)
    thr = {{"from", *m->throughput},
           {"to", adv.kind == up::AdviceKind::kKeep ? *m->throughput
                                                    : up::AdvisedThroughput(a.in[i], adv)}};
  Json scale = nullptr;
  if (m && m->autoscale)
    scale = {{"min", m->autoscale->min},
             {"max", m->autoscale->max},
             {"interval_s", m->autoscale->interval_s}};
  return {{"model", adv.model},
          {"advice", up::AdviceKindName(adv.kind)},
          {"replicas", {{"from", adv.from}, {"to", adv.to}}},
          {"throughput", thr},
          {"utilisation", adv.utilisation < 0 ? Json(nullptr) : Json(adv.utilisation)},
          {"capacity_per_replica", a.in[i].capacity_per_replica},
          {"reason", adv.reason},
          {"traffic", TrafficJson(a.in[i].traffic)},
          {"autoscale", scale},
          {"override", a.st.in_force.count(adv.model) ? Json(true) : Json(false)}};
}

std::vector<int> Minus(const std::vector<int>& a, const std::vector<int>& b) {
  std::vector<int> out;
  for (int x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
  return out;
}

bool Changes(const Advised& a) {
  return std::any_of(a.advice.begin(), a.advice.end(),
                     [](const up::Advice& x) { return x.kind != up::AdviceKind::kKeep; });
}

Json AdvisedJson(const Advised& a, std::chrono::seconds window, bool applied) {
  Json models = Json::array(), changes = Json::array(), unmet = Json::array();
  for (size_t i = 0; i < a.advice.size(); ++i) models.push_back(ModelJson(a, i));
  for (const auto& c : a.change.changes)
    changes.push_back({{"action", c.action},
                       {"id", c.id},
                       {"model", c.model},
                       {"from", c.from},
                       {"to", c.to},
                       {"stop_first", c.stop_first},
                       {"why", c.why}});
  for (const auto& u : a.change.plan.unmet)
    unmet.push_back({{"model", u.model}, {"reason", u.reason}});
  const auto& ch = a.change;
  return {{"version", kFormatVersion},
          {"window_s", window.count()},
          {"measured_s", a.in.empty() ? 0.0 : a.in.front().traffic.seconds},
          {"target_utilisation", up::kTargetUtilisation},
          {"models", models},
          {"change", Changes(a)},
          {"fits", ch.fits},
          {"unmet", unmet},
          {"more_gpus",
           ch.fits ? Json(nullptr) : Json{{"count", ch.more_gpus}, {"like_gpu", ch.more_like}}},
          {"gpus",
           {{"before", ch.gpus_before},
            {"after", ch.gpus_after},
            {"freed", Minus(ch.gpus_before, ch.gpus_after)},
            {"needed", Minus(ch.gpus_after, ch.gpus_before)}}},
          {"changes", changes},
          {"make_before_break", ch.fits && ch.waiting.empty()},
          {"waiting", ch.waiting},
          {"applied", applied}};
}

// The model on `gpu`'s slice `gi`, from the status ("" when none).
std::string ModelOn(const Json& status, int gpu, const device::GpuInstance& gi) {
  for (const auto& r : status.value("replicas", Json::array()))
    if (r.value("gpu", -1) == gpu && r.value("profile", "") == gi.profile &&
        r.value("start", -1) == gi.placement.start)
      return r.value("model", "");
  return "";
}

std::string LayoutNow(const std::vector<device::Gpu>& gpus, const Json& status) {
  std::string out;
  for (const auto& g : gpus) {
    if (!g.model || g.gpu_instances.empty()) continue;
    std::vector<render::BarSegment> segments;
    for (const auto& gi : g.gpu_instances)
      segments.push_back(
          {gi.placement.start, gi.placement.size, gi.profile, ModelOn(status, g.index, gi)});
    out += fmt::format("  GPU {} {}\n", g.index, g.model->alias);
    auto bar = render::DrawBar(g.model->placement_units, segments);
    for (size_t i = 0; i + 1 < bar.size(); ++i) out += "    " + bar[i] + "\n";
  }
  return out;
}

std::string LayoutAdvised(const plan::Plan& p) {
  std::string out;
  for (size_t i = 0; i < p.gpus.size(); ++i) {
    if (!p.gpus[i].used()) continue;
    out += fmt::format("  GPU {} {}\n", i, p.gpus[i].gpu.model->alias);
    for (const auto& line : render::LayoutBar(p.gpus[i], p)) out += "    " + line + "\n";
  }
  return out;
}

std::string ModelsText(const Advised& a) {
  std::string out =
      fmt::format("{:<16} {:>4} {:>7} {:>6} {:>8} {:>8} {:>8} {:>7}  {}\n", "MODEL", "NOW",
                  "ADVISED", "USED", "REQ/S", "P99 MS", "TTFT P99", "QUEUED", "WHY");
  for (size_t i = 0; i < a.advice.size(); ++i) {
    const up::Advice& adv = a.advice[i];
    const up::WindowTraffic& t = a.in[i].traffic;
    out += fmt::format(
        "{:<16} {:>4} {:>7} {:>6} {:>8.1f} {:>8} {:>8} {:>7.1f}  {}\n", adv.model, adv.from, adv.to,
        adv.utilisation < 0 ? "-" : fmt::format("{:.0f}%", adv.utilisation * 100), t.requests_per_s,
        t.latency_ms ? fmt::format("{:.0f}", t.latency_ms->p99) : "-",
        t.ttft_ms ? fmt::format("{:.0f}", t.ttft_ms->p99) : "-", t.queued, adv.reason);
  }
  return out;
}

std::string GpuList(const std::vector<int>& v) {
  if (v.empty()) return "none";
  std::string out;
  for (int x : v) out += (out.empty() ? "" : ", ") + std::to_string(x);
  return out;
}

std::string ChangesText(const up::ChangePreview& c) {
  std::string out;
  for (const auto& r : c.changes) {
    if (r.action == "keep") continue;
    std::string what = r.id.empty() ? r.model : r.id;
    std::string where = r.action == "start"  ? "on " + r.to
                        : r.action == "stop" ? "from " + r.from + ", drained first"
                                             : r.from + " → " + r.to;
    out += fmt::format("  {:<6} {:<16} {}{}\n", r.action, what, where,
                       r.stop_first ? " (stops first: " + r.why + ")" : "");
  }
  if (out.empty()) return "  none: every engine keeps running where it is\n";
  if (c.waiting.empty())
    return out +
           "  Make before break: every model keeps a ready replica throughout; no request "
           "fails.\n";
  std::string models;
  for (const auto& m : c.waiting) models += (models.empty() ? "" : ", ") + m;
  return out + fmt::format(
                   "  {} will have no ready replica for a while: its requests are held (not "
                   "failed) until a successor is ready (gateway.timeouts.hold_ms).\n",
                   models);
}

std::string AdvisedText(const Advised& a, std::chrono::seconds window) {
  const double measured = a.in.empty() ? 0 : a.in.front().traffic.seconds;
  std::string out = fmt::format(
      "Advice for carve up (pid {}, {}) over the last {:.0f} s{} (target: {:.0f}% used)\n\n",
      a.st.status.value("pid", 0), a.st.status.value("spec", ""), measured,
      measured + 1 < static_cast<double>(window.count())
          ? fmt::format(" (asked {} s; that is all it measured)", window.count())
          : "",
      up::kTargetUtilisation * 100);
  out += ModelsText(a);
  if (!a.st.in_force.empty()) out += "\n(overrides in force: carve status lists them)\n";
  if (!Changes(a)) return out + "\nNothing to change.\n";
  const auto& c = a.change;
  if (!c.fits) {
    out += "\nThe advised counts do not fit this machine:\n";
    for (const auto& u : c.plan.unmet) out += fmt::format("  {}: {}\n", u.model, u.reason);
    out += c.more_gpus > 0 ? fmt::format("  {} more GPU{} like GPU {} would serve them.\n",
                                         c.more_gpus, c.more_gpus == 1 ? "" : "s", c.more_like)
                           : "  More than 8 more GPUs like these would be needed.\n";
    return out;
  }
  out += "\nLayout now\n" + LayoutNow(a.gpus, a.st.status);
  out += "Layout advised\n" + LayoutAdvised(c.plan);
  out += fmt::format("\nGPUs serving: {} now, {} advised (freed: {}; needed: {}).\n",
                     c.gpus_before.size(), c.gpus_after.size(),
                     GpuList(Minus(c.gpus_before, c.gpus_after)),
                     GpuList(Minus(c.gpus_after, c.gpus_before)));
  out += "\nChanges\n" + ChangesText(c);
  return out;
}

Result<Advised> Advise(const Globals& g, const std::string& dir, std::chrono::seconds window) {
  Advised a;
  CARVE_ASSIGN_OR_RETURN(a.st, up::ReadServiceState(dir));
  a.in = up::AdviceInputs(a.st, window);
  for (const auto& in : a.in) a.advice.push_back(up::AdviseModel(in));
  a.overrides = a.st.overrides;
  a.next = up::AdvisedSpec(a.st, a.in, a.advice, "carve advise --apply", a.overrides);
  CARVE_ASSIGN_OR_RETURN(auto machine, OpenMachine(g));
  CARVE_ASSIGN_OR_RETURN(a.gpus, machine->Gpus());
  CARVE_ASSIGN_OR_RETURN(a.change, up::PreviewChange(a.next, a.gpus, a.st.status));
  return a;
}

// Writes the overrides and asks the service to reload; puts the overrides
// back as they were when the reload fails.
Status Apply(const Advised& a, const std::string& dir) {
  if (!a.change.fits)
    return Status::Insufficient("not applied: the advised counts do not fit this machine",
                                "Add GPUs, or lower autoscale max; nothing was changed.");
  CARVE_RETURN_IF_ERROR(up::WriteOverrides(dir, a.overrides));
  Status s = up::RequestReload(dir, a.st.status.value("spec", ""), std::chrono::minutes(20));
  if (!s.ok()) (void)up::WriteOverrides(dir, a.st.overrides);
  return s;
}

Status Run(Globals& g, const AdviseFlags& f) {
  const std::string dir = UpStateDir(g, f.state_dir);
  CARVE_ASSIGN_OR_RETURN(auto window, ParseWindow(f.window));
  CARVE_ASSIGN_OR_RETURN(Advised a, Advise(g, dir, window));
  const bool change = Changes(a);
  if (!g.json) fmt::print("{}", AdvisedText(a, window));
  if (!f.apply || !change) {
    if (g.json)
      fmt::print("{}\n", AdvisedJson(a, window, false).dump(2));
    else if (change && a.change.fits)
      fmt::print("\nApply it live: carve advise --apply (the spec file stays as written).\n");
    return Status::Ok();
  }
  if (!f.yes && !Interactive())
    return Status::InvalidArgument(
        "carve advise --apply changes what runs, and there is no "
        "terminal to confirm on",
        "Pass --yes to apply. Nothing was changed.");
  if (!f.yes)
    CARVE_RETURN_IF_ERROR(Confirm("Apply this change to the running carve up?", "applied"));
  if (!g.json) {
    fmt::print("\nApplying: carve up reloads, starting new engines before stopping old ones…\n");
    std::fflush(stdout);
  }
  CARVE_RETURN_IF_ERROR(Apply(a, dir));
  if (g.json)
    fmt::print("{}\n", AdvisedJson(a, window, true).dump(2));
  else
    fmt::print("\nApplied: carve up serves the advised counts (overrides in {}).\n",
               up::StatePath(dir, up::kOverridesFile));
  return Status::Ok();
}

}  // namespace

void AddAdvise(CLI::App& app, Globals& g) {
  auto f = std::make_shared<AdviseFlags>();
  auto* cmd = app.add_subcommand(
      "advise",
      "From carve up's measured traffic: replicas per model with headroom, the layout, the moves");
  cmd->add_option("--state-dir", f->state_dir, "As given to carve up");
  cmd->add_option("--window", f->window,
                  "Traffic to judge by: the last DURATION, 10s to 15m (default 5m)")
      ->type_name("DURATION");
  cmd->add_flag("--apply", f->apply,
                "Carry it out live (make before break), as an override over the spec file");
  cmd->add_flag("--yes,-y", f->yes, "With --apply: do not ask for confirmation");
  cmd->callback(Body(g, [&g, f] { return Run(g, *f); }));
}

}  // namespace carve::cli
