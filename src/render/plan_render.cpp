#include "render/plan_render.h"

#include <fmt/format.h>

#include <algorithm>

namespace carve::render {
namespace {

using plan::Plan;
using plan::PlannedGpu;
using plan::PlannedSlice;

std::string GiB(uint64_t mib) { return fmt::format("{:.1f}", mib / 1024.0); }

// `text` cut or padded with `fill` to exactly `width` columns.
std::string Fit(std::string text, size_t width, const std::string& fill) {
  std::string out;
  size_t w = 0;
  for (size_t i = 0; i < text.size() && w < width;) {
    size_t len = 1;
    unsigned char c = text[i];
    if (c >= 0xF0) len = 4; else if (c >= 0xE0) len = 3; else if (c >= 0xC0) len = 2;
    out += text.substr(i, len), i += len, ++w;
  }
  while (w < width) out += fill, ++w;
  return out;
}

std::string SliceLabel(const PlannedSlice& s, const Plan& plan) {
  std::string who;
  for (const auto& r : s.replicas) who += (who.empty() ? "" : "+") + plan.models[r.model].name;
  std::string shape = s.profile ? s.profile->name.substr(0, s.profile->name.find('.')) : "whole";
  return shape + " " + who;
}

std::string Money(double v) { return fmt::format("${:.0f}", v); }

}  // namespace

std::string LayoutBar(const PlannedGpu& g, const Plan& plan, int width) {
  int units = g.mig ? g.gpu.model->placement_units : 1;
  int unit_w = std::max(3, width / std::max(units, 1));
  std::vector<std::pair<int, std::string>> cells;  // (units, label)
  if (!g.mig) {
    cells.push_back({1, g.slices.empty() ? "free" : SliceLabel(g.slices[0], plan)});
  } else {
    int at = 0;
    for (const auto& s : g.slices) {
      if (s.start > at) cells.push_back({s.start - at, "free"});
      cells.push_back({s.profile->size(), SliceLabel(s, plan)});
      at = s.start + s.profile->size();
    }
    if (at < units) cells.push_back({units - at, "free"});
  }
  std::string out = "┌";
  for (size_t c = 0; c < cells.size(); ++c) {
    size_t w = size_t(cells[c].first * unit_w - 1);
    out += Fit(cells[c].second, w, cells[c].second == "free" ? "·" : "─");
    out += c + 1 < cells.size() ? "┬" : "┐";
  }
  return out;
}

std::string PlanText(const Plan& plan, bool compare) {
  std::string out;
  out += fmt::format("carve plan: {} model(s) on {} of {} GPUs{} — {}; lower bound {}\n\n",
                     plan.models.size(), plan.gpus_used, plan.gpus.size(),
                     plan.costed ? fmt::format(" ({}/month)", Money(plan.cost)) : "",
                     plan.optimal ? "optimal" : fmt::format("gap {:.1f} %", plan.gap * 100),
                     plan.costed ? Money(plan.lower_bound) : fmt::format("{:g}", plan.lower_bound));
  for (const auto& g : plan.gpus) {
    std::string where = g.gpu.node.empty() ? fmt::format("GPU {}", g.gpu.local_index)
                                           : fmt::format("{} GPU {}", g.gpu.node, g.gpu.local_index);
    if (!g.used()) {
      out += fmt::format("{:<10} {:<18} unused\n", where, g.gpu.model->alias);
      continue;
    }
    out += fmt::format("{:<10} {:<18} {}\n", where, g.gpu.model->alias, g.mig ? "MIG on" : "MIG off (whole GPU)");
    out += "  " + LayoutBar(g, plan) + "\n";
    for (const auto& s : g.slices) {
      std::string name = s.profile ? fmt::format("{}@{}", s.profile->name, s.start) : "whole GPU";
      for (size_t r = 0; r < s.replicas.size(); ++r) {
        const auto& rep = s.replicas[r];
        std::string extra;
        if (rep.memory_fraction > 0) extra += fmt::format("  --gpu-memory-utilization {:.2f}", rep.memory_fraction);
        if (rep.throughput > 0) extra += fmt::format("  {:g} req/s", rep.throughput);
        if (rep.tp_group >= 0) extra += fmt::format("  tensor-parallel group {}", rep.tp_group);
        out += fmt::format("  {:<14} {:<20} {:>6} GiB{}{}\n", r == 0 ? name : "", plan.models[rep.model].name,
                           GiB(rep.memory_mib), r + 1 == s.replicas.size()
                               ? fmt::format("  (slice {} GiB, {} free)", GiB(s.memory_mib), GiB(s.memory_mib - s.used_mib()))
                               : "", extra);
      }
    }
  }
  out += "\nModels\n";
  out += fmt::format("  {:<20} {:>14} {:>14}  {:<4}{}\n", "model", "demand", "planned", "met", plan.costed ? "  cost/month" : "");
  for (size_t i = 0; i < plan.models.size(); ++i) {
    const auto& m = plan.models[i];
    bool thr = m.by_throughput;
    std::string demand = thr ? fmt::format("{:g} req/s", m.demand) : fmt::format("{:g} replicas", m.demand);
    std::string got = thr ? fmt::format("{:g} req/s", m.throughput) : fmt::format("{}", m.replicas);
    if (thr) got += fmt::format(" ({})", m.replicas);
    out += fmt::format("  {:<20} {:>14} {:>14}  {:<4}{}\n", m.name, demand, got, m.met ? "yes" : "NO",
                       plan.costed ? "  " + Money(m.cost_per_month) : "");
  }
  out += "\nTotals\n";
  out += fmt::format("  GPUs used       {} of {} (lower bound {}, {})\n", plan.gpus_used, plan.gpus.size(),
                     plan.costed ? Money(plan.lower_bound) : fmt::format("{:g}", plan.lower_bound),
                     plan.optimal ? "proven optimal" : fmt::format("gap {:.1f} %", plan.gap * 100));
  if (plan.costed) out += fmt::format("  cost            {}/month\n", Money(plan.cost));
  auto pct = [](double a, double b) { return b > 0 ? 100.0 * a / b : 0.0; };
  out += fmt::format("  memory          {} GiB used by replicas, {} GiB in slices, {} GiB on used GPUs ({:.0f} % used)\n",
                     GiB(plan.memory_used_mib), GiB(plan.memory_allocated_mib), GiB(plan.memory_total_mib),
                     pct(plan.memory_used_mib, plan.memory_total_mib));
  out += fmt::format("  compute         {} of {} compute slices in slices ({:.0f} %); {} idle on used GPUs\n",
                     plan.compute_allocated, plan.compute_total, pct(plan.compute_allocated, plan.compute_total),
                     plan.stranded_slices);
  if (!plan.unmet.empty()) {
    out += "\nUnmet\n";
    for (const auto& u : plan.unmet) out += fmt::format("  {}: {}\n", u.model, u.reason);
  }
  if (compare && !plan.baselines.empty()) {
    out += "\nCompared with\n";
    out += fmt::format("  {:<48} {:>5}{}\n", "plan", "GPUs", plan.costed ? "   cost/month" : "");
    out += fmt::format("  {:<48} {:>5}{}\n", "carve", plan.gpus_used, plan.costed ? "   " + Money(plan.cost) : "");
    for (const auto& b : plan.baselines)
      out += fmt::format("  {:<48} {:>5}{}{}\n", b.name, b.gpus_used, plan.costed ? "   " + Money(b.cost) : "",
                         b.all_met ? "" : "   (does not meet all demand)");
  }
  return out;
}

nlohmann::ordered_json PlanJson(const Plan& plan) {
  using J = nlohmann::ordered_json;
  J j;
  j["gpus_used"] = plan.gpus_used;
  j["lower_bound"] = plan.lower_bound;
  j["optimal"] = plan.optimal;
  j["gap"] = plan.gap;
  j["method"] = plan.method;
  if (plan.costed) j["cost_per_month"] = plan.cost;
  j["gpus"] = J::array();
  for (const auto& g : plan.gpus) {
    J gj{{"index", g.gpu.index}, {"gpu", g.gpu.model->alias}, {"node", g.gpu.node},
         {"local_index", g.gpu.local_index}, {"mig", g.mig}, {"used", g.used()}};
    if (!g.gpu.mig_config.empty()) gj["mig_config_now"] = g.gpu.mig_config;
    gj["slices"] = J::array();
    for (const auto& s : g.slices) {
      J sj{{"profile", s.profile ? s.profile->name : "whole"}, {"start", s.start},
           {"memory_mib", s.memory_mib}, {"kept", s.kept}};
      sj["replicas"] = J::array();
      for (const auto& r : s.replicas) {
        J rj{{"model", plan.models[r.model].name}, {"memory_mib", r.memory_mib}, {"throughput", r.throughput}};
        if (r.memory_fraction > 0) rj["gpu_memory_utilization"] = r.memory_fraction;
        if (r.tp_group >= 0) rj["tensor_parallel_group"] = r.tp_group;
        if (!r.args.empty()) rj["args"] = r.args;
        sj["replicas"].push_back(rj);
      }
      gj["slices"].push_back(sj);
    }
    j["gpus"].push_back(gj);
  }
  j["models"] = J::array();
  for (const auto& m : plan.models) {
    J mj{{"name", m.name}, {"replicas", m.replicas}, {"throughput", m.throughput}, {"demand", m.demand}, {"met", m.met}};
    if (plan.costed) mj["cost_per_month"] = m.cost_per_month;
    j["models"].push_back(mj);
  }
  j["unmet"] = J::array();
  for (const auto& u : plan.unmet) j["unmet"].push_back({{"model", u.model}, {"reason", u.reason}});
  j["totals"] = {{"memory_total_mib", plan.memory_total_mib}, {"memory_allocated_mib", plan.memory_allocated_mib},
                 {"memory_used_mib", plan.memory_used_mib}, {"compute_total", plan.compute_total},
                 {"compute_allocated", plan.compute_allocated}, {"idle_compute_slices", plan.stranded_slices}};
  if (!plan.baselines.empty()) {
    j["baselines"] = J::array();
    for (const auto& b : plan.baselines)
      j["baselines"].push_back({{"name", b.name}, {"gpus_used", b.gpus_used}, {"cost_per_month", b.cost}, {"all_met", b.all_met}});
  }
  return j;
}

std::string PlanLayoutsYaml(const Plan& plan, const std::string& source) {
  std::string out = fmt::format("# Written by `carve plan {} --write`: the layouts `carve apply` holds.\n"
                                "# GPUs the plan leaves unused are not listed.\nversion: v1\ngpus:\n", source);
  std::string node;
  for (const auto& g : plan.gpus) {
    if (!g.used()) continue;
    if (g.gpu.node != node) node = g.gpu.node, out += fmt::format("  # node: {}\n", node);
    out += fmt::format("  - index: {}\n", g.gpu.local_index);
    if (!g.mig) {
      out += "    mig: off\n";
      continue;
    }
    std::string slices;
    for (const auto& s : g.slices) slices += fmt::format("{}{}@{}", slices.empty() ? "" : ", ", s.profile->name, s.start);
    out += fmt::format("    mig: on\n    slices: [{}]\n", slices);
  }
  return out;
}

}  // namespace carve::render
