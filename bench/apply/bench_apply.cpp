// carve apply against wipe-and-recreate (what mig-parted and the GPU
// Operator's MIG manager do for any change to a GPU), on one simulated host of
// 8x H100 80GB with a per-operation driver delay, in the same process.
//
// Each round changes the layout of about half the GPUs the way people do:
// one slice goes, the freed room is filled with other profiles. Both
// approaches start from the same layouts and must reach the same targets.
// Reported: driver operations, elapsed time, and "disrupted": slices present
// both before and after a round that were destroyed anyway (their MIG UUIDs
// change and whatever ran on them stops). carve's goal: zero.
//
// Usage: bench_apply [--delay-ms 200] [--rounds 3] [--seed 1]
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <tuple>

#include "apply/plan.h"
#include "apply/reconcile.h"
#include "device/machine_wrapper.h"
#include "device/sim/sim_machine.h"

using namespace carve;
using Layout = std::vector<mig::Slice>;

namespace {

struct Tally {
  long ops = 0, disrupted = 0;
  double seconds = 0;
};

// Counts mutating driver calls and remembers which slices were destroyed.
class Counter : public device::MachineWrapper {
 public:
  using MachineWrapper::MachineWrapper;
  long calls = 0;
  std::set<std::tuple<int, int, int>> destroyed;  // gpu, profile id, start
  Result<device::ModeChange> SetMigMode(int g, bool on) override {
    return ++calls, MachineWrapper::SetMigMode(g, on);
  }
  Result<device::GpuInstance> CreateGpuInstance(int g, int p, std::optional<int> s) override {
    return ++calls, MachineWrapper::CreateGpuInstance(g, p, s);
  }
  Result<device::ComputeInstance> CreateComputeInstance(int g, int gi, int p,
                                                        std::optional<int> s) override {
    return ++calls, MachineWrapper::CreateComputeInstance(g, gi, p, s);
  }
  Status DestroyComputeInstance(int g, int gi, int ci) override {
    return ++calls, MachineWrapper::DestroyComputeInstance(g, gi, ci);
  }
  Status DestroyGpuInstance(int g, int gi) override {
    auto gpu = GetGpu(g);
    for (const auto& x : gpu->gpu_instances)
      if (x.id == gi) destroyed.insert({g, x.profile_id, x.placement.start});
    return ++calls, MachineWrapper::DestroyGpuInstance(g, gi);
  }
};

std::set<std::pair<int, int>> Held(device::Machine& m, int gpu) {
  std::set<std::pair<int, int>> out;
  auto g = m.GetGpu(gpu);
  for (const auto& gi : g->gpu_instances) out.insert({gi.profile_id, gi.placement.start});
  return out;
}

// Drops one slice of `cur` and fills the room with random profiles.
Layout Change(const mig::GpuModel& model, Layout cur, std::mt19937& rng) {
  if (!cur.empty()) cur.erase(cur.begin() + rng() % cur.size());
  for (int tries = 0; tries < 20; ++tries) {
    const auto& p = model.profiles[rng() % model.profiles.size()];
    auto starts = mig::FreeStarts(model, cur, p);
    if (!starts.empty()) cur.push_back({&p, starts[rng() % starts.size()]});
  }
  return cur;
}

apply::Layouts Targets(const mig::GpuModel& model, const std::vector<Layout>& layouts) {
  apply::Layouts out;
  for (size_t g = 0; g < layouts.size(); ++g) {
    apply::GpuLayout l{static_cast<int>(g), &model, true, {}, "bench"};
    for (const auto& s : layouts[g])
      l.slices.push_back(apply::FullSlice(model, *s.profile, s.start));
    out.push_back(l);
  }
  return out;
}

// What mig-parted does to a GPU whose layout differs: destroy everything
// (compute instances first), then create the whole target.
Status WipeAndRecreate(device::Machine& m, const apply::GpuLayout& t) {
  auto g = m.GetGpu(t.gpu);
  if (!g.ok()) return g.status();
  std::set<std::pair<int, int>> want;
  for (const auto& s : t.slices) want.insert({s.profile->id, *s.start});
  if (Held(m, t.gpu) == want) return Status::Ok();
  for (const auto& gi : g->gpu_instances) {
    for (const auto& ci : gi.compute_instances)
      CARVE_RETURN_IF_ERROR(m.DestroyComputeInstance(t.gpu, gi.id, ci.id));
    CARVE_RETURN_IF_ERROR(m.DestroyGpuInstance(t.gpu, gi.id));
  }
  for (const auto& s : t.slices) {
    auto gi = m.CreateGpuInstance(t.gpu, s.profile->id, s.start);
    if (!gi.ok()) return gi.status();
    CARVE_RETURN_IF_ERROR(
        m.CreateComputeInstance(t.gpu, gi->id, s.cis[0]->id, std::nullopt).status());
  }
  return Status::Ok();
}

int Run(int delay_ms, int rounds, unsigned seed) {
  const mig::GpuModel& model = *mig::Catalog::Builtin().Find("h100-80gb");
  auto state = *device::sim::NewState(std::vector<const mig::GpuModel*>(8, &model), true, seed);
  auto carve_m = device::sim::SimMachine::InMemory(state),
       wipe_m = device::sim::SimMachine::InMemory(state);
  std::mt19937 rng(seed);
  std::vector<Layout> cur(8);
  for (auto& l : cur) l = Change(model, {}, rng);
  for (auto* m : {carve_m.get(), wipe_m.get()})  // the starting layouts, not measured
    if (auto p = apply::MakePlan(*m->Gpus(), Targets(model, cur), false);
        !apply::Reconciler(*m, {}).Apply(*p).status.ok())
      return 1;
  Tally carve, wipe;
  for (int r = 0; r < rounds; ++r) {
    std::vector<Layout> next = cur;
    for (auto& l : next)
      if (rng() % 2) l = Change(model, l, rng);
    auto targets = Targets(model, next);
    std::vector<std::set<std::pair<int, int>>> before;
    for (int g = 0; g < 8; ++g) before.push_back(Held(*carve_m, g));
    for (auto* m : {carve_m.get(), wipe_m.get()}) (void)m->SetDelay(delay_ms);
    Counter cc(carve_m.get()), wc(wipe_m.get());
    auto t0 = std::chrono::steady_clock::now();
    auto plan = apply::MakePlan(*cc.Gpus(), targets, false);
    if (!plan.ok() || !apply::Reconciler(cc, {}).Apply(*plan).status.ok())
      return fmt::print("carve apply failed\n"), 1;
    auto t1 = std::chrono::steady_clock::now();
    for (const auto& t : targets)
      if (Status st = WipeAndRecreate(wc, t); !st.ok())
        return fmt::print("baseline failed: {}\n", st.message()), 1;
    auto t2 = std::chrono::steady_clock::now();
    for (auto* m : {carve_m.get(), wipe_m.get()}) (void)m->SetDelay(0);
    carve.seconds += std::chrono::duration<double>(t1 - t0).count();
    wipe.seconds += std::chrono::duration<double>(t2 - t1).count();
    carve.ops += cc.calls;
    wipe.ops += wc.calls;
    // Disrupted: in the layout before and after, and destroyed anyway.
    for (int g = 0; g < 8; ++g)
      for (const auto& s : next[g])
        if (before[g].count({s.profile->id, s.start})) {
          carve.disrupted += cc.destroyed.count({g, s.profile->id, s.start});
          wipe.disrupted += wc.destroyed.count({g, s.profile->id, s.start});
        }
    cur = next;
  }
  fmt::print(
      "8x H100 80GB (simulated), {} rounds of random layout changes, {} ms per driver operation\n",
      rounds, delay_ms);
  fmt::print("{:<22}{:>12}{:>14}{:>22}\n", "", "operations", "elapsed (s)", "untouched slices hit");
  fmt::print("{:<22}{:>12}{:>14.1f}{:>22}\n", "carve apply", carve.ops, carve.seconds,
             carve.disrupted);
  fmt::print("{:<22}{:>12}{:>14.1f}{:>22}\n", "wipe-and-recreate", wipe.ops, wipe.seconds,
             wipe.disrupted);
  fmt::print("ratio (wipe / carve): {:.2f}x operations, {:.2f}x time\n",
             static_cast<double>(wipe.ops) / std::max(1L, carve.ops),
             wipe.seconds / std::max(1e-9, carve.seconds));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int delay = 200, rounds = 3;
  unsigned seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--delay-ms"))
      delay = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds"))
      rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed"))
      seed = static_cast<unsigned>(std::atoi(argv[i + 1]));
  }
  return Run(delay, rounds, seed);
}
