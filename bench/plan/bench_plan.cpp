// Planner at scale: generated fleets of four real GPU models (h100-80gb,
// a100-80gb, h200, rtx-pro-6000; each node holds one model) from 8 to 1,000
// GPUs, and 20 to 50 models with five replicas per GPU (5,000 at 1,000 GPUs)
// asking for at most 65 % of the fleet's memory, so the fleet is not simply
// filled and the baselines mean something. One row per size: solve time, cost against the
// lower bound (gap, proof), both baselines, peak memory (getrusage).
// One run per row on deterministic input; not run by ctest:
//   build/bench/bench_plan
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "mig/catalog.h"
#include "plan/baseline.h"
#include "plan/construct.h"
#include "plan/measured_options.h"
#include "plan/plan.h"
#include "plan/problem.h"

namespace carve::plan {
namespace {

struct GpuKind {
  const char* alias;
  double cost;  // per month
};
constexpr GpuKind kGpus[] = {
    {"h100-80gb", 2100}, {"a100-80gb", 1300}, {"h200", 2600}, {"rtx-pro-6000", 1100}};

// Nodes of one GPU model each, models in turn; small fleets get small nodes so
// every row has all four models.
std::vector<FleetGpu> Fleet(int gpus) {
  const auto& cat = mig::Catalog::Builtin();
  int per_node = std::clamp(gpus / 4, 1, 8);
  std::vector<FleetGpu> fleet;
  for (int g = 0; g < gpus; ++g) {
    const GpuKind& k = kGpus[(g / per_node) % 4];
    std::string node = fmt::format("node{}", g / per_node);
    fleet.push_back(FleetGpu{g, node, g % per_node, cat.Find(k.alias), k.cost, {}, {}});
  }
  return fleet;
}

uint64_t FleetMiB(const std::vector<FleetGpu>& fleet) {
  uint64_t total = 0;
  for (const auto& g : fleet) total += g.model->memory_mib;
  return total;
}

// Mostly small models (what MIG is for), a few large ones; replicas spread
// unevenly over the models until the demand reaches `fill` of the fleet's memory
// or `most` replicas.
std::vector<ModelDemand> Models(int count, uint64_t fleet_mib, double fill, int most,
                                std::mt19937& rng) {
  const double kGiB[] = {3, 3.5, 4, 5, 6, 7, 8, 9, 12, 15, 22, 38};
  std::vector<ModelDemand> out;
  for (int i = 0; i < count; ++i) {
    ModelDemand m;
    m.name = fmt::format("model-{:02}", i);
    m.memory_mib = uint64_t(kGiB[rng() % 12] * 1024);
    out.push_back(m);
  }
  std::vector<int> weight;
  for (int i = 0; i < count; ++i) weight.push_back(1 + int(rng() % 8));
  uint64_t asked = 0;
  int replicas = 0;
  for (size_t i = 0; asked < uint64_t(fill * double(fleet_mib)) && replicas < most;
       i = (i + 1) % out.size()) {
    for (int r = 0; r < weight[i] && replicas < most; ++r)
      ++out[i].replicas, ++replicas, asked += out[i].memory_mib;
  }
  return out;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

long PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

// A baseline on eight times the fleet (same mix), so it always meets the
// demand and says what it would take: "cost (GPUs)".
std::string Baseline(const PlanRequest& req, bool whole) {
  PlanRequest big = req;
  big.fleet.clear();
  for (int copy = 0; copy < 8; ++copy)
    for (FleetGpu g : req.fleet) {
      g.index = int(big.fleet.size()), g.node += fmt::format("x{}", copy);
      big.fleet.push_back(g);
    }
  Problem p = BuildProblem(big);
  BaselineResult b = whole ? WholeGpuBaseline(p) : FirstFitBaseline(p);
  return fmt::format("{:.0f} ({}){}", b.cost, b.gpus_used, b.all_met ? "" : " unmet");
}

// Varied instances for the exactness sweep: random prices, fill, some models
// by throughput with measured profiles, some spread.
PlanRequest Varied(int gpus, int models, std::mt19937& rng) {
  PlanRequest req;
  req.fleet = Fleet(gpus);
  double price[4];
  for (double& p : price) p = 100.0 * (8 + rng() % 24);
  for (auto& g : req.fleet) g.cost_per_month = price[g.index / std::clamp(gpus / 4, 1, 8) % 4];
  req.models = Models(models, FleetMiB(req.fleet), 0.3 + 0.1 * double(rng() % 5), 1 << 30, rng);
  const char* kProfiles[] = {"1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "1g.24gb", "2g.48gb"};
  for (auto& m : req.models) {
    m.spread = rng() % 8 == 0 && m.replicas <= gpus;
    if (rng() % 4) continue;
    m.memory_mib = std::min<uint64_t>(m.memory_mib, 9 * 1024);
    for (const char* prof : kProfiles)
      m.options.push_back(Option{prof, double(50 + rng() % 400), 0, {}});
    m.throughput = double(m.replicas * 200);
  }
  return req;
}

// Many varied exact-size instances: how many are proven, the slowest.
void Sweep(int gpus, int models, int count) {
  std::mt19937 rng(gpus * 1000 + models);
  int proven = 0, max_nodes = 0;
  double slowest = 0, worst_gap = 0;
  for (int n = 0; n < count; ++n) {
    PlanRequest req = Varied(gpus, models, rng);
    double cpu0 = CpuSeconds();
    Plan p = MakePlan(req);
    slowest = std::max(slowest, CpuSeconds() - cpu0);
    worst_gap = std::max(worst_gap, p.gap);
    proven += p.optimal;
    max_nodes = std::max(max_nodes, p.nodes);
  }
  fmt::print("| {} | {} | {} | {} | {:.2f} | {} | {:.2f} % |\n", gpus, models, count, proven,
             slowest, max_nodes, worst_gap * 100);
}

// GPUs (or cost) of the constructive plan alone, before any search.
double ConstructedValue(const Problem& p) {
  Solution s = Construct(p);
  double value = 0;
  for (size_t t = 0; t < p.types.size(); ++t) {
    double n = 0;
    for (int y : s.y[t]) n += y;
    for (size_t i = 0; i < s.w[t].size(); ++i) n += double(p.tp[t][i]) * s.w[t][i];
    value += n * (p.costed ? p.types[t].cost : 1);
  }
  return value;
}

// The first-contact instance (issue #13): `models` models measured on ~100
// options each (measured_options.h), 70–2,300 requests/s, `gpus` A100s.
void MeasuredSweep(int gpus, int models, int count) {
  const mig::GpuModel* a100 = mig::Catalog::Builtin().Find("a100-80gb");
  int met = 0, proven = 0, max_nodes = 0;
  double slowest = 0, worst_gap = 0, sum_plan = 0, sum_built = 0, sum_ff = 0;
  size_t options = 0;
  for (int seed = 1; seed <= count; ++seed) {
    std::mt19937 rng(seed);
    PlanRequest req;
    for (int g = 0; g < gpus; ++g)
      req.fleet.push_back(FleetGpu{g, fmt::format("node{}", g / 8), g % 8, a100, 0, {}, {}});
    req.models = MeasuredModels(*a100, models, {}, rng);
    for (const auto& m : req.models) options += m.options.size();
    double cpu0 = CpuSeconds();
    Plan p = MakePlan(req);
    slowest = std::max(slowest, CpuSeconds() - cpu0);
    Problem prob = BuildProblem(req);
    met += p.unmet.empty(), proven += p.optimal;
    worst_gap = std::max(worst_gap, p.gap), max_nodes = std::max(max_nodes, p.nodes);
    sum_plan += p.gpus_used, sum_built += ConstructedValue(prob);
    sum_ff += FirstFitBaseline(prob).gpus_used;
  }
  fmt::print(
      "| {} | {} | {:.0f} | {} | {} | {} | {:.2f} | {} | {:.2f} % | {:.1f} | {:.1f} | {:.1f} |\n",
      gpus, models, double(options) / (count * models), count, met, proven, slowest, max_nodes,
      worst_gap * 100, sum_plan / count, sum_built / count, sum_ff / count);
}

void Row(int gpus, int models) {
  std::mt19937 rng(42 + gpus);
  PlanRequest req;
  req.fleet = Fleet(gpus);
  req.models = Models(models, FleetMiB(req.fleet), 0.65, 5 * gpus, rng);
  uint64_t asked_mib = 0;
  for (const auto& m : req.models) asked_mib += m.memory_mib * uint64_t(m.replicas);
  auto t0 = std::chrono::steady_clock::now();
  double cpu0 = CpuSeconds();
  Plan p = MakePlan(req);
  double s = Seconds(t0), cpu = CpuSeconds() - cpu0;
  int asked = 0, placed = 0;
  for (const auto& m : req.models) asked += m.replicas;
  for (const auto& m : p.models) placed += m.replicas;
  fmt::print(
      "| {} | {} | {} | {:.0f} % | {} | {:.2f} | {:.2f} | {} | {:.0f} ({}) | {:.0f} | {:.2f} % | "
      "{} "
      "| {} | {} | {} |\n",
      gpus, models, asked, 100.0 * double(asked_mib) / double(FleetMiB(req.fleet)), placed, s, cpu,
      p.method, p.cost, p.gpus_used, p.lower_bound, p.gap * 100, p.optimal ? "yes" : "no",
      Baseline(req, false), Baseline(req, true), PeakRssMiB());
}

}  // namespace
}  // namespace carve::plan

int main() {
  fmt::print(
      "| GPUs | models | replicas | memory asked | placed | wall s | CPU s | method | cost/month "
      "(GPUs) "
      "| lower bound | gap | proven | first-fit | whole-GPU | peak MiB |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|\n");
  struct {
    int gpus, models;
  } rows[] = {{8, 20}, {16, 20}, {32, 20}, {100, 50}, {250, 50}, {500, 50}, {1000, 50}};
  for (auto r : rows) carve::plan::Row(r.gpus, r.models);
  fmt::print(
      "\n| GPUs | models | instances | proven optimal | slowest CPU s | most nodes "
      "| worst gap |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int gpus : {8, 16, 32}) carve::plan::Sweep(gpus, 20, 100);
  fmt::print(
      "\n| A100s | models | options/model | instances | all met | proven optimal | slowest CPU s "
      "| most nodes | worst gap | GPUs (mean) | constructive alone | first-fit |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  carve::plan::MeasuredSweep(40, 12, 50);
}
