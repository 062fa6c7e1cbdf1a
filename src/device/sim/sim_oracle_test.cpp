// The simulator against an independent brute-force oracle, for every MIG GPU
// in the catalogue: every set of non-overlapping legal placements is built
// on a fresh simulated GPU, and the simulator must accept exactly the sets
// the oracle accepts. The oracle walks placement units left to right (not the
// candidate-list search mig/layout uses) and checks counts, engines and
// compute slices with plain arithmetic.
#include <gtest/gtest.h>

#include <map>

#include "device/sim/sim_machine.h"
#include "mig/layout.h"

namespace carve::device::sim {
namespace {

using Set = std::vector<std::pair<const mig::Profile*, int>>;

void Walk(const mig::GpuModel& g, int unit, uint64_t used, Set& cur, std::vector<Set>& out) {
  if (unit == g.placement_units) {
    out.push_back(cur);
    return;
  }
  if (used >> unit & 1) return Walk(g, unit + 1, used, cur, out);
  Walk(g, unit + 1, used, cur, out);  // leave the unit empty
  for (const auto& p : g.profiles)
    for (const auto& pl : p.placements) {
      if (pl.start != unit) continue;
      uint64_t mask = ((uint64_t{1} << pl.size) - 1) << pl.start;
      if (used & mask) continue;
      cur.push_back({&p, pl.start});
      Walk(g, unit + 1, used | mask, cur, out);
      cur.pop_back();
    }
}

bool OracleAccepts(const mig::GpuModel& g, const Set& set) {
  std::map<const mig::Profile*, int> count;
  int compute = 0, ce = 0, dec = 0, enc = 0, jpeg = 0, ofa = 0;
  for (const auto& [p, start] : set) {
    if (++count[p] > p->max_instances) return false;
    compute += p->slices;
    ce += p->engines.ce, dec += p->engines.dec, enc += p->engines.enc;
    jpeg += p->engines.jpeg, ofa += p->engines.ofa;
  }
  const auto& e = g.engines;
  return compute <= g.compute_slices && ce <= e.ce && dec <= e.dec && enc <= e.enc &&
         jpeg <= e.jpeg && ofa <= e.ofa;
}

TEST(SimOracle, SimulatorAcceptsExactlyWhatTheOracleAcceptsOnEveryMigGpu) {
  int gpus = 0;
  for (const auto& model : mig::Catalog::Builtin().models()) {
    if (!model.mig) continue;
    ++gpus;
    std::vector<Set> sets;
    Set cur;
    Walk(model, 0, 0, cur, sets);
    int accepted = 0;
    auto fresh = NewState({&model}, /*mig_on=*/true, 7);
    ASSERT_TRUE(fresh.ok());
    for (const auto& set : sets) {
      auto machine = SimMachine::InMemory(*fresh);
      bool sim_ok = true;
      for (const auto& [p, start] : set)
        sim_ok = sim_ok && machine->CreateGpuInstance(0, p->id, start).ok();
      bool oracle_ok = OracleAccepts(model, set);
      ASSERT_EQ(sim_ok, oracle_ok) << model.alias << ": set of " << set.size() << " slices";
      accepted += oracle_ok;
    }
    // The layout enumerator agrees with the oracle on how many layouts exist.
    EXPECT_EQ(static_cast<size_t>(accepted), mig::EnumerateValid(model).size()) << model.alias;
    EXPECT_GT(accepted, 1) << model.alias;
  }
  EXPECT_GE(gpus, 1);
}

}  // namespace
}  // namespace carve::device::sim
