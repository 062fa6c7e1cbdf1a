// Test helpers shared by the plan tests: plan validity checks. The tests plan
// on the real catalogue (mig::Catalog::Builtin()).
#pragma once

#include <gtest/gtest.h>

#include "mig/catalog.h"
#include "mig/layout.h"
#include "plan/plan.h"

namespace carve::plan {

// A model asking for `n` replicas of `gib` GiB each.
inline ModelDemand TestModel(std::string name, double gib, int n) {
  ModelDemand m;
  m.name = std::move(name), m.memory_mib = uint64_t(gib * 1024), m.replicas = n;
  return m;
}

// Every MIG GPU's slices pass mig::CheckLayout, every replica fits its slice.
inline void ExpectValid(const Plan& p) {
  for (const auto& g : p.gpus) {
    if (g.mig) {
      std::vector<mig::Slice> layout;
      for (const auto& s : g.slices) layout.push_back(mig::Slice{s.profile, s.start});
      if (!layout.empty()) {
        Status st = mig::CheckLayout(*g.gpu.model, layout);
        EXPECT_TRUE(st.ok()) << "GPU " << g.gpu.index << ": " << st.ToString();
      }
    } else {
      EXPECT_LE(g.slices.size(), 1u);
    }
    for (const auto& s : g.slices) {
      if (!g.gpu.fixed) {
        EXPECT_FALSE(s.replicas.empty());  // a fixed pool's slices stay, used or not
      }
      EXPECT_LE(s.used_mib(), s.memory_mib);
    }
  }
}

}  // namespace carve::plan
