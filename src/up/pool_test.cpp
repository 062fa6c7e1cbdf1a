#include "up/pool.h"

#include <gtest/gtest.h>

namespace carve::up {
namespace {

const PoolClock::time_point kNow = PoolClock::time_point{} + std::chrono::hours(1);

Slot Slice(int start, uint64_t mib) {
  Slot s;
  s.profile = "1g.10gb", s.start = start, s.memory_mib = mib;
  return s;
}

// A resident idle for `idle_s` seconds.
Resident On(const char* id, int slot, uint64_t mib, int idle_s, int64_t keep_warm_s = 300) {
  Resident r;
  r.id = id, r.model = std::string(id).substr(0, std::string(id).find('/'));
  r.slot = slot, r.memory_mib = mib, r.keep_warm_s = keep_warm_s;
  r.last_used = kNow - std::chrono::seconds(idle_s);
  return r;
}

PoolView Pool(std::vector<Resident> residents) {
  return {"small", {Slice(0, 10'000), Slice(1, 10'000)}, std::move(residents)};
}

TEST(PlanLoad, AFreeSliceTakesItWithoutEvicting) {
  LoadPlan p = PlanLoad(Pool({On("a/0", 0, 4'000, 1)}), 4'000, kNow);
  EXPECT_EQ(p.slot, 0);  // the fullest that fits: slot 0 has 6000 free, slot 1 10000
  EXPECT_TRUE(p.evict.empty());
  EXPECT_TRUE(p.wait.empty());
}

TEST(PlanLoad, TwoSmallModelsShareASliceWhenTheirMemoryFits) {
  auto pool = Pool({On("a/0", 0, 4'000, 1), On("b/0", 1, 9'000, 1)});
  EXPECT_EQ(FreeMiB(pool, 0), 6'000u);
  EXPECT_EQ(PlanLoad(pool, 6'000, kNow).slot, 0);
  EXPECT_EQ(PlanLoad(pool, 6'001, kNow).slot, -1);  // b's slice has 1000 left, a's 6000
}

TEST(PlanLoad, TheLeastRecentlyUsedIdleModelIsEvicted) {
  auto pool = Pool({On("a/0", 0, 9'000, 400), On("b/0", 1, 9'000, 900)});
  LoadPlan p = PlanLoad(pool, 9'000, kNow);
  EXPECT_EQ(p.slot, 1);
  EXPECT_EQ(p.evict, std::vector<std::string>{"b/0"});
}

TEST(PlanLoad, NeverAModelServingARequestLoadingOrWithinKeepWarm) {
  auto busy = On("b/0", 1, 9'000, 900);
  busy.in_flight = 1;
  auto loading = On("a/0", 0, 9'000, 900);
  loading.loading = true;
  LoadPlan p = PlanLoad(Pool({loading, busy}), 9'000, kNow);
  EXPECT_EQ(p.slot, -1);
  EXPECT_TRUE(p.evict.empty());
  EXPECT_NE(p.wait.find("no resident model may be evicted yet"), std::string::npos) << p.wait;
  // Within keep_warm (idle 100 s of 300): not yet, and says when.
  LoadPlan warm = PlanLoad(Pool({On("a/0", 0, 9'000, 100), On("b/0", 1, 9'000, 250)}), 9'000, kNow);
  EXPECT_EQ(warm.slot, -1);
  EXPECT_DOUBLE_EQ(warm.retry_s, 50);
  // keep_warm: forever is never evicted.
  LoadPlan pinned =
      PlanLoad(Pool({On("a/0", 0, 9'000, 9'000, -1), On("b/0", 1, 9'000, 9'000, -1)}), 9'000, kNow);
  EXPECT_EQ(pinned.slot, -1);
  EXPECT_EQ(pinned.retry_s, -1);
}

TEST(PlanLoad, EvictsOnlyOnTheSliceItLoadsOnAndOnlyAsManyAsNeeded) {
  // Slot 0: a (oldest, 3000) and c (5000); slot 1: b (9000). Loading 7000:
  // a alone frees 3000+2000 free = 5000, not enough; b next frees slot 1.
  auto pool =
      Pool({On("a/0", 0, 3'000, 1'000), On("b/0", 1, 9'000, 800), On("c/0", 0, 5'000, 700)});
  LoadPlan p = PlanLoad(pool, 7'000, kNow);
  EXPECT_EQ(p.slot, 1);
  EXPECT_EQ(p.evict, std::vector<std::string>{"b/0"});
  // Loading 9000: a, then b frees slot 1 first (walk order: a, b).
  EXPECT_EQ(PlanLoad(pool, 9'000, kNow).evict, std::vector<std::string>{"b/0"});
}

TEST(PlanLoad, AModelLargerThanEverySliceSaysSo) {
  LoadPlan p = PlanLoad(Pool({}), 20'000, kNow);
  EXPECT_EQ(p.slot, -1);
  EXPECT_NE(p.wait.find("needs 20000 MiB; the largest slice of pool small holds 10000 MiB"),
            std::string::npos)
      << p.wait;
}

}  // namespace
}  // namespace carve::up
