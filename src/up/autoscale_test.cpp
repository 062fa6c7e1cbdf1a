#include "up/autoscale.h"

#include <gtest/gtest.h>

namespace carve::up {
namespace {

// A model with autoscale {min, max, interval 60 s} and `replicas` now, whose
// last `seconds` of traffic were `rps` against 20 req/s per replica.
AutoscaleInput Model(const std::string& name, int replicas, double rps, double seconds = 60,
                     int min = 1, int max = 4) {
  AdviceInput a;
  a.model = name;
  a.replicas = replicas;
  a.capacity_per_replica = 20;
  a.min = min;
  a.max = max;
  a.traffic.seconds = seconds;
  a.traffic.requests_per_s = rps;
  a.traffic.replicas = replicas;
  return {a, 60};
}

TEST(DecideAutoscale, WaitsAWholeIntervalAfterFirstSeeingAModel) {
  std::map<std::string, double> last;
  EXPECT_TRUE(DecideAutoscale(0, {Model("hot", 1, 30)}, last).empty());
  EXPECT_TRUE(DecideAutoscale(59, {Model("hot", 1, 30)}, last).empty());
  auto d = DecideAutoscale(60, {Model("hot", 1, 30)}, last);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, AdviceKind::kGrow);
  EXPECT_EQ(d[0].to, 3);  // 30 req/s at 70% of 20 each
  EXPECT_EQ(last["hot"], 60);
}

TEST(DecideAutoscale, AtMostOneChangePerIntervalPerModel) {
  std::map<std::string, double> last{{"hot", 0}, {"other", 0}};
  ASSERT_EQ(DecideAutoscale(60, {Model("hot", 1, 30)}, last).size(), 1u);
  // Still hot a little later: no second change until an interval has passed.
  EXPECT_TRUE(DecideAutoscale(90, {Model("hot", 3, 60)}, last).empty());
  // Another model is not held back by this one's change.
  EXPECT_EQ(DecideAutoscale(90, {Model("other", 1, 30)}, last).size(), 1u);
  EXPECT_EQ(DecideAutoscale(120, {Model("hot", 3, 60)}, last).size(), 1u);
}

TEST(DecideAutoscale, NeedsAFullWindowOfTraffic) {
  std::map<std::string, double> last{{"hot", 0}};
  EXPECT_TRUE(DecideAutoscale(100, {Model("hot", 1, 30, /*seconds=*/40)}, last).empty());
  EXPECT_EQ(last["hot"], 0);  // nothing changed, so nothing restarts the clock
  EXPECT_EQ(DecideAutoscale(100, {Model("hot", 1, 30, 60)}, last).size(), 1u);
}

TEST(DecideAutoscale, StaysWithinBounds) {
  std::map<std::string, double> last{{"hot", 0}, {"idle", 0}, {"full", 0}};
  auto d = DecideAutoscale(60,
                           {Model("hot", 1, 200, 60, 1, 3), Model("idle", 3, 0, 60, 2, 4),
                            Model("full", 3, 200, 60, 1, 3)},
                           last);
  ASSERT_EQ(d.size(), 2u);  // "full" is at its max already: no change
  EXPECT_EQ(d[0].model, "hot");
  EXPECT_EQ(d[0].to, 3);  // wants 15, max 3
  EXPECT_EQ(d[1].model, "idle");
  EXPECT_EQ(d[1].kind, AdviceKind::kShrink);
  EXPECT_EQ(d[1].to, 2);  // idle goes to min, not below
  EXPECT_EQ(last["full"], 0);
}

TEST(DecideAutoscale, KeepsWhatIsInTheBand) {
  std::map<std::string, double> last{{"warm", 0}};
  EXPECT_TRUE(DecideAutoscale(60, {Model("warm", 2, 30)}, last).empty());  // 75%
}

}  // namespace
}  // namespace carve::up
