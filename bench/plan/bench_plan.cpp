// Planner at scale: generated fleets of four real GPU models (h100-80gb,
// a100-80gb, h200, rtx-pro-6000; each node holds one model) from 8 to 1,000
// GPUs, and 20 to 50 models with up to 5,000 replicas. The demand asks for
// about half of the fleet's memory, so the baselines have room and the
// comparison means something. One row per size: solve time, cost against the
// lower bound (gap, proof), both baselines, peak memory (getrusage).
// One run per row on deterministic input; not run by ctest:
//   build/bench/bench_plan
#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "mig/catalog.h"
#include "plan/plan.h"

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
    fleet.push_back(FleetGpu{g, node, g % per_node, cat.Find(k.alias), k.cost, {}});
  }
  return fleet;
}

uint64_t FleetMiB(const std::vector<FleetGpu>& fleet) {
  uint64_t total = 0;
  for (const auto& g : fleet) total += g.model->memory_mib;
  return total;
}

// Mostly small models (what MIG is for), a few large ones; replicas spread
// unevenly over the models until the demand reaches `fill` of the fleet's memory.
std::vector<ModelDemand> Models(int count, uint64_t fleet_mib, double fill, std::mt19937& rng) {
  const double kGiB[] = {3.5, 4, 5, 6, 7, 8, 9, 9, 12, 15, 22, 38};
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
  for (size_t i = 0; asked < uint64_t(fill * double(fleet_mib)); i = (i + 1) % out.size()) {
    for (int r = 0; r < weight[i]; ++r) ++out[i].replicas, asked += out[i].memory_mib;
  }
  return out;
}

long PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

std::string Baseline(const BaselineResult& b) {
  return b.all_met ? fmt::format("{:.0f}", b.cost) : fmt::format("{:.0f} (unmet)", b.cost);
}

void Row(int gpus, int models) {
  std::mt19937 rng(42 + gpus);
  PlanRequest req;
  req.fleet = Fleet(gpus);
  req.models = Models(models, FleetMiB(req.fleet), 0.5, rng);
  req.options.baselines = true;
  auto t0 = std::chrono::steady_clock::now();
  Plan p = MakePlan(req);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int asked = 0, placed = 0;
  for (const auto& m : req.models) asked += m.replicas;
  for (const auto& m : p.models) placed += m.replicas;
  fmt::print("| {} | {} | {} | {} | {:.2f} | {} | {:.0f} | {:.0f} | {:.2f} % | {} | {} | {} | {} | {} |\n",
             gpus, models, asked, placed, s, p.method, p.cost, p.lower_bound, p.gap * 100,
             p.optimal ? "yes" : "no", Baseline(p.baselines[1]), Baseline(p.baselines[0]),
             p.gpus_used, PeakRssMiB());
}

}  // namespace
}  // namespace carve::plan

int main() {
  fmt::print("| GPUs | models | replicas | placed | seconds | method | cost/month | lower bound "
             "| gap | proven | first-fit cost | whole-GPU cost | GPUs used | peak MiB |\n");
  fmt::print("|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---:|\n");
  struct {
    int gpus, models;
  } rows[] = {{8, 20}, {16, 20}, {32, 20}, {100, 50}, {250, 50}, {500, 50}, {1000, 50}};
  for (auto r : rows) carve::plan::Row(r.gpus, r.models);
}
