#include "render/pools_render.h"

#include <fmt/format.h>

#include "render/plan_render.h"

namespace carve::render {
namespace {

using plan::Plan;
using plan::PoolAdvice;

// Cost when the menu has prices, else GPUs (what the planner minimised).
double Value(const Plan& p) { return p.costed ? p.cost : p.gpus_used; }

std::string Amount(const Plan& p, double v) {
  return p.costed ? Money(p, v) + "/month" : fmt::format("{:g} GPUs", v);
}

std::string Replicas(const plan::PoolChoice& c) {
  std::string out;
  for (const auto& [m, n] : c.replicas)
    out += fmt::format("{}{} ×{}", out.empty() ? "" : ", ", m, n);
  return out;
}

std::string Table(const PoolAdvice& a) {
  std::string out = fmt::format("  {:<24} {:<14} {:<10} {:>5} {:>11} {:>12}  {}\n", "pool", "GPU",
                                "profile", "GPUs", a.fill ? "slices/GPU" : "slices≤/GPU",
                                a.plan.costed ? "cost/month" : "", "replicas");
  for (const auto& c : a.pools)
    out += fmt::format("  {:<24} {:<14} {:<10} {:>5} {:>11} {:>12}  {}\n", c.name, c.model->alias,
                       c.profile ? c.profile->name : "whole", c.gpus,
                       c.profile ? std::to_string(c.slices_per_gpu) : "—",
                       a.plan.costed ? Money(a.plan, c.cost) : "", Replicas(c));
  return out;
}

// The fleet: entries that declare these pools (fixed_profile: when filled).
std::string FleetYaml(const PoolAdvice& a) {
  std::string out = "fleet:\n";
  for (const auto& c : a.pools) {
    out += fmt::format("  - {{pool: {}, gpu: {}, count: {}", c.name, c.model->alias, c.gpus);
    if (c.profile && a.fill) out += fmt::format(", fixed_profile: {}", c.profile->name);
    if (a.plan.costed) out += fmt::format(", cost_per_month: {:g}", c.gpus ? c.cost / c.gpus : 0);
    out += "}\n";
  }
  return out;
}

}  // namespace

std::string PoolsText(const PoolAdvice& a) {
  std::string out = fmt::format("carve plan --pools: one MIG profile per node pool{}\n\n",
                                a.fill ? ", every GPU carved full (as managed pools do)" : "");
  if (!a.plan.unmet.empty()) {
    out += "No pools serve every model:\n";
    for (const auto& u : a.plan.unmet) out += fmt::format("  {}: {}\n", u.model, u.reason);
    return out;
  }
  out += Table(a);
  double pools = Value(a.plan), mixed = Value(a.mixed);
  out +=
      fmt::format("\n  pools            {} ({} GPUs)\n", Amount(a.plan, pools), a.plan.gpus_used);
  if (a.mixed.unmet.empty()) {
    out += fmt::format(
        "  best mixed       {} ({} GPUs; profiles mixed on a GPU: the MIG manager or a node "
        "class's user data carves it)\n",
        Amount(a.mixed, mixed), a.mixed.gpus_used);
    out +=
        fmt::format("  one profile/pool costs {} more ({:.0f} %)\n", Amount(a.plan, pools - mixed),
                    mixed > 0 ? 100.0 * (pools - mixed) / mixed : 0.0);
  } else {
    out += "  best mixed       does not serve every model on this menu either\n";
  }
  for (const auto& b : a.beyond_menu)
    out += fmt::format("  note: {} (each pool may use up to the listed count)\n", b);
  out +=
      "\nGPUs per pool, not nodes: a node holds as many as its instance type has. In the "
      "spec:\n\n" +
      FleetYaml(a);
  return out;
}

nlohmann::ordered_json PoolsJson(const PoolAdvice& a) {
  using J = nlohmann::ordered_json;
  J j{{"fill", a.fill}, {"all_met", a.plan.unmet.empty()}, {"pools", J::array()}};
  for (const auto& c : a.pools) {
    J pj{{"pool", c.name},
         {"gpu", c.model->alias},
         {"profile", c.profile ? c.profile->name : "whole"},
         {"gpus", c.gpus},
         {"slices_per_gpu", c.slices_per_gpu},
         {"replicas", J::object()}};
    if (a.plan.costed) pj["cost_per_month"] = c.cost;
    for (const auto& [m, n] : c.replicas) pj["replicas"][m] = n;
    j["pools"].push_back(pj);
  }
  j["gpus"] = a.plan.gpus_used;
  j["mixed_gpus"] = a.mixed.gpus_used;
  j["mixed_all_met"] = a.mixed.unmet.empty();
  if (a.plan.costed) {
    j["cost_per_month"] = a.plan.cost;
    j["mixed_cost_per_month"] = a.mixed.cost;
    j["currency"] = a.plan.currency;
  }
  j["unmet"] = J::array();
  for (const auto& u : a.plan.unmet)
    j["unmet"].push_back({{"model", u.model}, {"reason", u.reason}});
  j["beyond_menu"] = a.beyond_menu;
  j["fleet_yaml"] = FleetYaml(a);
  return j;
}

}  // namespace carve::render
