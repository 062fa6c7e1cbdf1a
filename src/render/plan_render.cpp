#include "render/plan_render.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "plan/on_demand.h"
#include "render/layout_bar.h"

namespace carve::render {
namespace {

using plan::Plan;
using plan::PlannedGpu;
using plan::PlannedSlice;

std::string GiB(uint64_t mib) { return fmt::format("{:.1f}", mib / 1024.0); }

// A replica's memory; "—" for a model sized only by its measured profiles.
std::string ReplicaGiB(uint64_t mib) { return mib ? GiB(mib) + " GiB" : "—"; }

std::string Bound(const Plan& plan) {
  return plan.costed ? Money(plan, plan.lower_bound) : fmt::format("{:g}", plan.lower_bound);
}

std::string Proof(const Plan& plan) {
  if (plan.optimal) return "proven optimal";
  if (plan.patterns_cut)
    return "not proven: more ways to share slices than the planner lists (2,000 a slice kind)";
  return fmt::format("gap {:.1f} %{}", plan.gap * 100,
                     plan.node_limit_hit ? ", search stopped at its node limit" : "");
}

std::string Replicas(const PlannedSlice& s, const Plan& plan) {
  std::string who;
  for (const auto& r : s.replicas) who += (who.empty() ? "" : "+") + plan.models[r.model].name;
  return who;
}

// The first `width` code points of UTF-8 `text`.
std::string Cut(const std::string& text, size_t width) {
  size_t i = 0;
  for (size_t n = 0; i < text.size() && n < width; ++n)
    for (++i; i < text.size() && (text[i] & 0xC0) == 0x80;) ++i;
  return text.substr(0, i);
}

std::string Header(const Plan& plan) {
  return fmt::format("carve plan: {} model(s) on {} of {} GPUs{} — {}; lower bound {}\n\n",
                     plan.models.size(), plan.gpus_used, plan.gpus.size(),
                     plan.costed ? fmt::format(" ({}/month)", Money(plan, plan.cost)) : "",
                     Proof(plan), Bound(plan));
}

std::string ReplicaLine(const PlannedSlice& s, size_t r, const Plan& plan) {
  const auto& rep = s.replicas[r];
  std::string name = s.profile ? fmt::format("{}@{}", s.profile->name, s.start) : "whole GPU";
  std::string slice;
  if (r + 1 == s.replicas.size())
    slice = fmt::format("  (slice {} GiB, {} free)", GiB(s.memory_mib),
                        GiB(s.memory_mib - s.used_mib()));
  std::string extra;
  if (rep.memory_fraction > 0)
    extra += fmt::format("  --gpu-memory-utilization {:.2f}", rep.memory_fraction);
  if (rep.throughput > 0) extra += fmt::format("  {:g} req/s", rep.throughput);
  if (rep.tp_group >= 0) extra += fmt::format("  tensor-parallel group {}", rep.tp_group);
  return fmt::format("  {:<14} {:<20} {:>10}{}{}\n", r == 0 ? name : "",
                     plan.models[rep.model].name, ReplicaGiB(rep.memory_mib), slice, extra);
}

std::string GpuText(const PlannedGpu& g, const Plan& plan) {
  std::string where = g.gpu.node.empty() ? fmt::format("GPU {}", g.gpu.local_index)
                                         : fmt::format("{} GPU {}", g.gpu.node, g.gpu.local_index);
  if (!g.gpu.pool.empty()) where = fmt::format("pool {} {}", g.gpu.pool, where);
  std::string fixed = g.gpu.fixed ? fmt::format(", fixed: {}×{} (the pool's, not re-carved)",
                                                g.gpu.fixed_count, g.gpu.fixed->name)
                                  : "";
  if (!g.used()) return fmt::format("{:<10} {:<18} unused{}\n", where, g.gpu.model->alias, fixed);
  std::string out = fmt::format("{:<10} {:<18} {}{}\n", where, g.gpu.model->alias,
                                g.mig ? "MIG on" : "MIG off (whole GPU)", fixed);
  for (const auto& line : LayoutBar(g, plan)) out += "  " + line + "\n";
  for (const auto& s : g.slices) {
    if (s.replicas.empty() && s.profile)
      out += fmt::format("  {:<14} (idle)\n", fmt::format("{}@{}", s.profile->name, s.start));
    for (size_t r = 0; r < s.replicas.size(); ++r) out += ReplicaLine(s, r, plan);
  }
  return out;
}

std::string ModelsText(const Plan& plan) {
  std::string out = "\nModels\n";
  out +=
      fmt::format("  {:<20} {:>14} {:>14}  {:<4}{}\n", "model", "demand", "planned", "met",
                  plan.costed ? fmt::format("  {:>12} {:>12}", "cost/month", "per replica") : "");
  for (const auto& m : plan.models) {
    bool thr = m.by_throughput;
    std::string demand =
        thr ? fmt::format("{:g} req/s", m.demand) : fmt::format("{:g} replicas", m.demand);
    std::string got = thr ? fmt::format("{:g} req/s ({})", m.throughput, m.replicas)
                          : fmt::format("{}", m.replicas);
    std::string cost;
    if (plan.costed)
      cost = fmt::format("  {:>12} {:>12}", Money(plan, m.cost_per_month),
                         m.replicas ? Money(plan, m.cost_per_month / m.replicas) : "—");
    out += fmt::format("  {:<20} {:>14} {:>14}  {:<4}{}\n", m.name, demand, got,
                       m.met ? "yes" : "NO", cost);
  }
  return out;
}

// Each pool of on-demand models: its slices (the "pool:NAME" rows above) and its models.
std::string PoolsText(const Plan& plan) {
  if (plan.pools.empty()) return "";
  std::string out =
      "\nPools (on-demand models time-share these slices; carve up loads them on request)\n";
  for (const auto& p : plan.pools) {
    out += fmt::format("  pool {}: {} × {} for {} on-demand model{} (largest {} GiB)\n", p.name,
                       p.count, p.profile, p.models.size(), p.models.size() == 1 ? "" : "s",
                       GiB(p.largest_mib));
    std::string names;
    for (const auto& m : p.models) names += (names.empty() ? "" : ", ") + m;
    out += fmt::format("    {}\n", names);
  }
  return out;
}

std::string TotalsText(const Plan& plan) {
  auto pct = [](double a, double b) { return b > 0 ? 100.0 * a / b : 0.0; };
  std::string out = "\nTotals\n";
  out += fmt::format("  GPUs used       {} of {} (lower bound {}, {})\n", plan.gpus_used,
                     plan.gpus.size(), Bound(plan), Proof(plan));
  if (plan.costed) out += fmt::format("  cost            {}/month\n", Money(plan, plan.cost));
  out += fmt::format(
      "  memory          {} GiB used by replicas, {} GiB in slices, {} GiB on used GPUs ({:.0f} % "
      "used)\n",
      GiB(plan.memory_used_mib), GiB(plan.memory_allocated_mib), GiB(plan.memory_total_mib),
      pct(plan.memory_used_mib, plan.memory_total_mib));
  out += fmt::format(
      "  compute         {} of {} compute slices in slices ({:.0f} %); {} idle on used GPUs\n",
      plan.compute_allocated, plan.compute_total, pct(plan.compute_allocated, plan.compute_total),
      plan.stranded_slices);
  return out;
}

// "—" appears only for models without `memory:`: say what it means once.
std::string Notes(const Plan& plan) {
  for (const auto& g : plan.gpus)
    for (const auto& s : g.slices)
      for (const auto& r : s.replicas)
        if (r.memory_mib == 0)
          return "\n— : the model gives neither `memory:` nor `estimate:`; it is placed by the "
                 "profiles it was\n    measured on (`profiles:`), and its slice is its own.\n";
  return "";
}

std::string UnmetText(const Plan& plan) {
  if (plan.unmet.empty()) return "";
  std::string out = "\nUnmet\n";
  for (const auto& u : plan.unmet) out += fmt::format("  {}: {}\n", u.model, u.reason);
  return out;
}

std::string CompareText(const Plan& plan) {
  std::string cost = plan.costed ? "   cost/month" : "";
  std::string out = "\nCompared with\n";
  out += fmt::format("  {:<48} {:>5}{}\n", "plan", "GPUs", cost);
  out += fmt::format("  {:<48} {:>5}{}\n", "carve", plan.gpus_used,
                     plan.costed ? "   " + Money(plan, plan.cost) : "");
  for (const auto& b : plan.baselines)
    out += fmt::format("  {:<48} {:>5}{}{}\n", b.name, b.gpus_used,
                       plan.costed ? "   " + Money(plan, b.cost) : "",
                       b.all_met ? "" : "   (does not meet all demand)");
  return out;
}

}  // namespace

std::string Money(const Plan& plan, double v) {
  static const std::map<std::string_view, std::string_view> kSymbols = {
      {"USD", "$"}, {"EUR", "€"}, {"GBP", "£"}, {"JPY", "¥"}, {"CNY", "¥"}, {"INR", "₹"}};
  auto it = kSymbols.find(plan.currency);
  if (it != kSymbols.end()) return fmt::format("{}{:.0f}", it->second, v);
  return fmt::format("{} {:.0f}", plan.currency, v);
}

std::vector<std::string> LayoutBar(const PlannedGpu& g, const Plan& plan) {
  if (!g.mig) {
    std::string who = g.slices.empty() ? "" : Replicas(g.slices[0], plan);
    auto bar = DrawBar(1, {BarSegment{0, 1, "whole", who}});
    return {bar[0], bar[1], bar[2]};
  }
  int units = g.gpu.model->placement_units;
  std::vector<BarSegment> segments;
  for (const auto& s : g.slices) {
    size_t inner = size_t(s.profile->size() * UnitWidth(units) - 1);
    std::string who = Cut(Replicas(s, plan), inner);
    segments.push_back(BarSegment{s.start, s.profile->size(), s.profile->name, who});
  }
  auto bar = DrawBar(units, segments);
  return {bar[0], bar[1], bar[2]};
}

std::string PlanText(const Plan& plan, bool compare) {
  std::string out = Header(plan);
  for (const auto& g : plan.gpus) out += GpuText(g, plan);
  out += ModelsText(plan) + PoolsText(plan) + TotalsText(plan) + Notes(plan) + UnmetText(plan);
  if (compare && !plan.baselines.empty()) out += CompareText(plan);
  return out;
}

nlohmann::ordered_json PlanJson(const Plan& plan) {
  using J = nlohmann::ordered_json;
  J j;
  j["gpus_used"] = plan.gpus_used;
  j["lower_bound"] = plan.lower_bound;
  j["optimal"] = plan.optimal;
  j["node_limit_hit"] = plan.node_limit_hit;
  j["patterns_cut"] = plan.patterns_cut;
  j["gap"] = plan.gap;
  j["method"] = plan.method;
  if (plan.costed) j["cost_per_month"] = plan.cost, j["currency"] = plan.currency;
  j["gpus"] = J::array();
  for (const auto& g : plan.gpus) {
    J gj{{"index", g.gpu.index}, {"gpu", g.gpu.model->alias},
         {"node", g.gpu.node},   {"local_index", g.gpu.local_index},
         {"mig", g.mig},         {"used", g.used()}};
    if (!g.gpu.mig_config.empty()) gj["mig_config_now"] = g.gpu.mig_config;
    if (!g.gpu.pool.empty()) gj["pool"] = g.gpu.pool;
    if (g.gpu.fixed) gj["fixed_profile"] = g.gpu.fixed->name;
    gj["slices"] = J::array();
    for (const auto& s : g.slices) {
      J sj{{"profile", s.profile ? s.profile->name : "whole"},
           {"start", s.start},
           {"memory_mib", s.memory_mib},
           {"kept", s.kept}};
      sj["replicas"] = J::array();
      for (const auto& r : s.replicas) {
        J rj{{"model", plan.models[r.model].name},
             {"memory_mib", r.memory_mib},
             {"throughput", r.throughput}};
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
    J mj{{"name", m.name},
         {"replicas", m.replicas},
         {"throughput", m.throughput},
         {"demand", m.demand},
         {"met", m.met}};
    if (plan.costed) {
      mj["cost_per_month"] = m.cost_per_month;
      mj["cost_per_replica_month"] = m.replicas ? m.cost_per_month / m.replicas : 0.0;
    }
    j["models"].push_back(mj);
  }
  j["pools"] = J::array();
  for (const auto& p : plan.pools)
    j["pools"].push_back({{"name", p.name},
                          {"model", plan::PoolModelName(p.name)},
                          {"profile", p.profile},
                          {"count", p.count},
                          {"slice_mib", p.slice_mib},
                          {"largest_mib", p.largest_mib},
                          {"models", p.models}});
  j["unmet"] = J::array();
  for (const auto& u : plan.unmet) j["unmet"].push_back({{"model", u.model}, {"reason", u.reason}});
  j["totals"] = {{"memory_total_mib", plan.memory_total_mib},
                 {"memory_allocated_mib", plan.memory_allocated_mib},
                 {"memory_used_mib", plan.memory_used_mib},
                 {"compute_total", plan.compute_total},
                 {"compute_allocated", plan.compute_allocated},
                 {"idle_compute_slices", plan.stranded_slices}};
  if (!plan.baselines.empty()) {
    j["baselines"] = J::array();
    for (const auto& b : plan.baselines)
      j["baselines"].push_back({{"name", b.name},
                                {"gpus_used", b.gpus_used},
                                {"cost_per_month", b.cost},
                                {"all_met", b.all_met}});
  }
  return j;
}

std::string PlanLayoutsYaml(const Plan& plan, const std::string& source) {
  std::string out = fmt::format(
      "# Written by `carve plan {} --write`: the layouts `carve apply` holds.\n"
      "# GPUs the plan leaves unused are not listed.\nversion: v1\ngpus:\n",
      source);
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
    for (const auto& s : g.slices)
      slices += fmt::format("{}{}@{}", slices.empty() ? "" : ", ", s.profile->name, s.start);
    out += fmt::format("    mig: on\n    slices: [{}]\n", slices);
  }
  return out;
}

}  // namespace carve::render
