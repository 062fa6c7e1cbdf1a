#include "mig/capacity.h"

#include <gtest/gtest.h>

#include <bit>

#include "mig/profile_ref.h"

namespace carve::mig {
namespace {

const GpuModel& Gpu(const char* alias) { return *Catalog::Builtin().Find(alias); }

std::vector<Slice> Slices(const GpuModel& gpu, std::string_view text) {
  std::vector<Slice> out;
  if (text.empty()) return out;
  auto reqs = ParseSliceList(gpu, text);
  EXPECT_TRUE(reqs.ok()) << reqs.status().ToString();
  for (const auto& r : *reqs) out.push_back(Slice{r.profile, r.start.value_or(0)});
  return out;
}

int CountFor(const std::vector<ProfileRoom>& room, std::string_view name) {
  for (const auto& r : room)
    if (r.profile->name == name) return r.count;
  ADD_FAILURE() << "no profile " << name;
  return -1;
}

TEST(Capacity, EmptyGpuStrandsNothing) {
  EXPECT_EQ(StrandedUnits(Gpu("h100-80gb"), {}), 0u);
  EXPECT_EQ(CountFor(RoomPerProfile(Gpu("h100-80gb"), {}), "1g.10gb"), 7);
}

TEST(Capacity, UnitSevenBesideThreeOneGsIsStranded) {
  const GpuModel& g = Gpu("h100-80gb");
  auto layout = Slices(g, "4g.40gb@0,1g.10gb@4,1g.10gb@5,1g.10gb@6");
  EXPECT_EQ(StrandedUnits(g, layout), 0x80u);
  for (const auto& r : RoomPerProfile(g, layout)) EXPECT_EQ(r.count, 0) << r.profile->name;
}

TEST(Capacity, FreeUnitsAnotherProfileCanTakeAreNotStranded) {
  const GpuModel& g = Gpu("h100-80gb");
  auto layout = Slices(g, "4g.40gb@0");  // 3g.40gb@4 still fits: units 4-7 usable
  EXPECT_EQ(StrandedUnits(g, layout), 0u);
  EXPECT_EQ(UsableUnits(g, layout, *g.FindProfile("3g.40gb")), 0xF0u);
  EXPECT_EQ(CountFor(RoomPerProfile(g, layout), "3g.40gb"), 1);
  EXPECT_EQ(CountFor(RoomPerProfile(g, layout), "1g.10gb"), 3);
}

TEST(Capacity, A30TwoGLeavesRoomForTwoOneGs) {
  const GpuModel& g = Gpu("a30");
  auto layout = Slices(g, "2g.12gb@0");
  EXPECT_EQ(std::popcount(StrandedUnits(g, layout)), 0);
  EXPECT_EQ(CountFor(RoomPerProfile(g, layout), "1g.6gb"), 2);
}

}  // namespace
}  // namespace carve::mig
