// Planner at scale: generated fleets of four GPU models (up to 1,000 GPUs)
// and 50 models with up to 5,000 replicas. Prints one table row per size:
// solve time, GPUs used, lower bound and gap, both baselines, peak memory.
// Plain timing (one run per row, deterministic input), not run by ctest:
//   build/bench/bench_plan [--time-limit S]
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>

#include "mig/catalog.h"
#include "plan/plan.h"

namespace carve::plan {
namespace {

// Four GPU models: the built-in h100-80gb plus whatever else the catalogue
// has; until the catalogue grows, H100s at four price points stand in.
std::vector<FleetGpu> Fleet(int gpus) {
  const auto& cat = mig::Catalog::Builtin();
  std::vector<const mig::GpuModel*> models;
  for (const char* a : {"h100-80gb", "a100-80gb", "h200", "rtx-pro-6000"})
    if (const auto* m = cat.Find(a)) models.push_back(m);
  const double kCost[] = {2100, 1500, 2600, 1200};
  std::vector<FleetGpu> fleet;
  for (int g = 0; g < gpus; ++g) {
    int type = g % 4;
    fleet.push_back(FleetGpu{g, fmt::format("node{}", g / 8), g % 8, models[type % models.size()], kCost[type], {}, {}});
  }
  return fleet;
}

std::vector<ModelDemand> Models(int count, int replicas, std::mt19937& rng) {
  // Mostly small models (what MIG is for), a few large ones.
  const int kMemMiB[] = {4000, 6000, 8500, 9500, 9500, 14000, 18500, 19500, 30000, 38000};
  std::vector<ModelDemand> out;
  int left = replicas;
  for (int i = 0; i < count; ++i) {
    ModelDemand m;
    m.name = fmt::format("model-{:02}", i);
    m.memory_mib = kMemMiB[rng() % 10];
    // Small models are the many; large ones few.
    int share = i + 1 == count ? left : std::max(1, int(replicas * (m.memory_mib < 20000 ? 1.2 : 0.5) / count));
    m.replicas = std::min(left, share);
    left -= m.replicas;
    out.push_back(m);
  }
  return out;
}

long PeakRssKiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

void Row(int gpus, int models, int replicas, double time_limit) {
  std::mt19937 rng(42);
  PlanRequest req;
  req.fleet = Fleet(gpus);
  req.models = Models(models, replicas, rng);
  req.options.baselines = true;
  req.options.time_limit_s = time_limit;
  auto t0 = std::chrono::steady_clock::now();
  Plan p = MakePlan(req);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int placed = 0;
  for (const auto& m : p.models) placed += m.replicas;
  fmt::print("| {:>5} | {:>3} | {:>6} | {:>6} | {:>7.2f} | {:>8} | {:>10.0f} | {:>10.0f} | {:>6.2f} % | {:>9} | {:>9} | {:>7} | {:>6} |\n",
             gpus, models, replicas, placed, s, p.method, p.cost, p.lower_bound, p.gap * 100,
             fmt::format("{:.0f}", p.baselines[1].cost), fmt::format("{:.0f}", p.baselines[0].cost),
             p.gpus_used, PeakRssKiB() / 1024);
}

}  // namespace
}  // namespace carve::plan

int main(int argc, char** argv) {
  double limit = 5.0;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--time-limit") == 0) limit = std::atof(argv[i + 1]);
  fmt::print("| GPUs | models | replicas | placed | seconds | method | cost/month | lower bound | gap | first-fit cost | whole-GPU cost | GPUs used | peak MiB |\n");
  fmt::print("|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
  struct { int gpus, models, replicas; } rows[] = {
      {8, 5, 30}, {32, 20, 120}, {100, 30, 500}, {250, 50, 1250}, {500, 50, 2500}, {1000, 50, 5000}};
  for (auto r : rows) carve::plan::Row(r.gpus, r.models, r.replicas, limit);
}
