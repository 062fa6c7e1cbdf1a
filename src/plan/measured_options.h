// A generator of planning instances with throughput demand and many measured
// options, shaped as real measurements are: for each MIG profile a model fits,
// a grid of batch sizes × engine processes, throughput rising with compute,
// batch and processes (with diminishing returns), latency rising with batch
// and falling with compute. Used by the optimality sweep and bench/plan, so
// the planner is tested on what `carve bench`-style measurements produce.
// Header-only, deterministic for a given rng state.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "mig/catalog.h"
#include "plan/plan.h"

namespace carve::plan {

struct MeasuredShape {
  std::vector<int> batches = {1, 2, 4, 8, 16, 32, 64, 128};
  std::vector<int> processes = {1, 2, 3};
  bool slo = true;  // give each model a latency SLO that rules some options out
};

// One model measured on every plain profile of `gpu` it fits: options for
// profile × batch × processes (about 100 on an A100 with the default shape).
inline std::vector<Option> MeasureOptions(const mig::GpuModel& gpu, uint64_t memory_mib,
                                          double per_slice, const MeasuredShape& shape,
                                          std::mt19937& rng) {
  std::vector<Option> options;
  std::uniform_real_distribution<double> noise(0.93, 1.07);
  for (const auto& p : gpu.profiles) {
    if (p.name.find_first_of("+-") != std::string::npos || p.memory_mib < memory_mib) continue;
    for (int procs : shape.processes) {
      if (uint64_t(procs) * memory_mib > p.memory_mib) continue;  // each process holds weights
      for (int batch : shape.batches) {
        double compute = std::pow(double(p.slices), 0.92);
        double batching = double(batch) / (double(batch) + 12.0);  // saturates
        double parallel = 1.0 + 0.35 * (procs - 1);
        double thr = std::round(per_slice * compute * batching * parallel * noise(rng));
        double lat = std::round(40.0 * (1.0 + batch / 10.0) / std::sqrt(double(p.slices)) *
                                (1.0 + 0.1 * (procs - 1)) * noise(rng));
        options.push_back(Option{
            p.name,
            std::max(1.0, thr),
            lat,
            {fmt::format("--max-num-seqs={}", batch), fmt::format("--processes={}", procs)}});
      }
    }
  }
  return options;
}

// `models` models with throughput demand in [70, 2300] requests/s, each
// measured on `gpu` as above.
inline std::vector<ModelDemand> MeasuredModels(const mig::GpuModel& gpu, int models,
                                               const MeasuredShape& shape, std::mt19937& rng) {
  const double kGiB[] = {4, 6, 8, 9, 12, 15, 18, 30};
  std::vector<ModelDemand> out;
  for (int i = 0; i < models; ++i) {
    ModelDemand m;
    m.name = fmt::format("svc-{:02}", i);
    m.memory_mib = uint64_t(kGiB[rng() % 8] * 1024);
    double per_slice = 100.0 + double(rng() % 300);  // requests/s of one compute slice, large batch
    m.options = MeasureOptions(gpu, m.memory_mib, per_slice, shape, rng);
    m.throughput = 70.0 + double(rng() % 2231);
    if (shape.slo) m.latency_slo_ms = 150.0 + double(rng() % 300);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace carve::plan
