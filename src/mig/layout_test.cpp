#include "mig/layout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "mig/profile_ref.h"

namespace carve::mig {
namespace {

const GpuModel& H100() { return *Catalog::Builtin().Find("h100-80gb"); }

std::vector<Slice> Slices(const GpuModel& gpu, std::string_view text) {
  std::vector<Slice> out;
  auto reqs = ParseSliceList(gpu, text);
  EXPECT_TRUE(reqs.ok()) << reqs.status().ToString();
  for (const auto& r : *reqs) out.push_back(Slice{r.profile, r.start.value_or(0)});
  return out;
}

TEST(Layout, FourGAtZeroPlusThreeGAtFourIsValid) {
  EXPECT_TRUE(CheckLayout(H100(), Slices(H100(), "4g.40gb@0,3g.40gb@4")).ok());
}

TEST(Layout, SevenOneGSlicesAreValidAndLeaveUnitSevenIdle) {
  auto seven = Slices(H100(), "19@0,19@1,19@2,19@3,19@4,19@5,19@6");
  EXPECT_TRUE(CheckLayout(H100(), seven).ok());
  EXPECT_EQ(UnitMask(seven), 0x7Fu);  // unit 7 idle
}

TEST(Layout, NoOneGAtUnitSeven) {
  auto r = ParseSliceList(H100(), "1g.10gb@7");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot start at unit 7"), std::string::npos);
}

TEST(Layout, DoubleMemoryOneGAtSixUsesTheEighthUnit) {
  auto s = Slices(H100(), "1g.20gb@6");
  EXPECT_TRUE(CheckLayout(H100(), s).ok());
  EXPECT_EQ(UnitMask(s), 0xC0u);
}

TEST(Layout, ThreeGPlusThreeGPlusOneGDoesNotFitAndSaysWhy) {
  auto reqs = ParseSliceList(H100(), "3g.40gb,3g.40gb,1g.10gb");
  ASSERT_TRUE(reqs.ok());
  auto r = Place(H100(), {}, *reqs);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInsufficientResources);
  EXPECT_NE(r.status().message().find("need 9 placement units"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("3g.40gb×2 take 4 each"), std::string::npos);
}

TEST(Layout, OnlyOneMediaEngineSliceAtATime) {
  auto s = Slices(H100(), "1g.10gb+me@0");
  Status st = CheckAdd(H100(), s, Slice{H100().FindProfile("1g.10gb+me"), 1});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("OFA"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("1g.10gb+me@0"), std::string::npos);
}

TEST(Layout, OverlapNamesTheBlockingSliceAndUnits) {
  std::vector<Slice> existing = {Slice{H100().FindProfile("1g.10gb"), 5, 12}};
  Status st = CheckAdd(H100(), existing, Slice{H100().FindProfile("3g.40gb"), 4});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("overlap 1g.10gb@5 (GI 12) on unit 5"), std::string::npos)
      << st.message();
  EXPECT_NE(st.hint().find("Free starts for 3g.40gb: 0"), std::string::npos) << st.hint();
}

TEST(Layout, MaxInstancesIsEnforced) {
  auto s = Slices(H100(), "4g.40gb@0");
  Status st = CheckAdd(H100(), s, Slice{H100().FindProfile("4g.40gb"), 0});
  EXPECT_FALSE(st.ok());
}

TEST(Layout, PlaceSolvesTheOrderThatNvidiaSmiGetsWrong) {
  // nvidia-smi -cgi 19,19,14,9 fails on the driver's greedy choice; carve
  // places all four together.
  auto reqs = ParseSliceList(H100(), "19,19,14,9");
  ASSERT_TRUE(reqs.ok());
  auto r = Place(H100(), {}, *reqs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(CheckLayout(H100(), *r).ok());
}

TEST(Layout, DriverGreedyChoiceReproducesTheDocumentedFailure) {
  const GpuModel& g = H100();
  std::vector<Slice> layout;
  for (int id : {19, 19, 14}) {
    auto start = DriverChosenStart(g, layout, *g.FindProfileById(id));
    ASSERT_TRUE(start);
    layout.push_back(Slice{g.FindProfileById(id), *start});
  }
  EXPECT_FALSE(DriverChosenStart(g, layout, *g.FindProfileById(9)));
  layout.clear();
  for (int id : {9, 19, 14, 19}) {
    auto start = DriverChosenStart(g, layout, *g.FindProfileById(id));
    ASSERT_TRUE(start) << id;
    layout.push_back(Slice{g.FindProfileById(id), *start});
  }
}

TEST(Layout, PlaceKeepsTheMostRoom) {
  // One 1g.10gb on an empty H100: unit 6 keeps 4g@0 and every 2g start open.
  auto reqs = ParseSliceList(H100(), "1g.10gb");
  auto r = Place(H100(), {}, *reqs);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].start, 6);
}

TEST(Layout, PlaceHonoursGivenStartsAndFixedSlices) {
  std::vector<Slice> fixed = {Slice{H100().FindProfile("3g.40gb"), 4, 2}};
  auto reqs = ParseSliceList(H100(), "2g.20gb@0,1g.10gb");
  auto r = Place(H100(), fixed, *reqs);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].start, 0);
  EXPECT_TRUE((*r)[1].start == 2 || (*r)[1].start == 3);
  auto bad = ParseSliceList(H100(), "4g.40gb,1g.10gb");
  auto r2 = Place(H100(), fixed, *bad);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(
      r2.status().message().find("(with 3g.40gb@4 (GI 2) already there) need 9 placement units"),
      std::string::npos)
      << r2.status().message();
}

// The placement rules written out again, apart from CheckLayout (which the
// enumerator uses, so checking its layouts with it could never fail): units
// taken at most once, legal starts, at most max_instances of a profile.
std::string Independent(const std::vector<Slice>& layout) {
  std::vector<int> taken(16, 0);
  std::map<std::string, int> count;
  for (const auto& s : layout) {
    const auto& places = s.profile->placements;
    auto at =
        std::find_if(places.begin(), places.end(), [&](auto& p) { return p.start == s.start; });
    if (at == places.end()) return s.profile->name + " at an illegal start";
    for (int u = at->start; u < at->end(); ++u)
      if (taken[u]++) return "unit " + std::to_string(u) + " taken twice";
    if (++count[s.profile->name] > s.profile->max_instances) return s.profile->name + " too often";
  }
  return "";
}

std::multiset<std::string> Names(const std::vector<Slice>& layout) {
  std::multiset<std::string> out;
  for (const auto& s : layout) out.insert(s.profile->name);
  return out;
}

TEST(Layout, EnumerationFindsKnownLayoutsOnH100) {
  auto maximal = EnumerateMaximal(H100());
  auto valid = EnumerateValid(H100());
  EXPECT_GT(valid.size(), maximal.size());
  for (const auto& l : valid) EXPECT_EQ(Independent(l), "");
  // Layouts the user guide documents: the whole GPU, 4g + 3g, 3g + 3g, seven 1g.
  std::set<std::multiset<std::string>> names;
  for (const auto& l : maximal) names.insert(Names(l));
  EXPECT_TRUE(names.count({"7g.80gb"}));
  EXPECT_TRUE(names.count({"4g.40gb", "3g.40gb"}));
  EXPECT_TRUE(names.count({"3g.40gb", "3g.40gb"}));
  std::vector<std::string> seven(7, "1g.10gb");
  EXPECT_TRUE(names.count(std::multiset<std::string>(seven.begin(), seven.end())));
  // And ones it rules out: 3g + 3g + 1g (units 0-3 and 4-7 leave none), 4g + 4g.
  for (const auto& l : valid) {
    EXPECT_NE(Names(l), (std::multiset<std::string>{"3g.40gb", "3g.40gb", "1g.10gb"}));
    EXPECT_NE(Names(l), (std::multiset<std::string>{"4g.40gb", "4g.40gb"}));
  }
}

TEST(ProfileRef, ResolvesNamesIdsConstantsAndComputeSubdivisions) {
  const GpuModel& g = H100();
  EXPECT_EQ(ResolveProfile(g, "3g.40gb")->gi->id, 9);
  EXPECT_EQ(ResolveProfile(g, "MIG 3g.40gb")->gi->id, 9);
  EXPECT_EQ(ResolveProfile(g, "9")->gi->name, "3g.40gb");
  EXPECT_EQ(ResolveProfile(g, "NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2")->gi->name, "1g.20gb");
  EXPECT_EQ(ResolveProfile(g, "1_SLICE_REV1")->gi->name, "1g.10gb+me");
  auto sub = ResolveProfile(g, "1c.3g.40gb");
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_EQ(sub->gi->name, "3g.40gb");
  ASSERT_NE(sub->ci, nullptr);
  EXPECT_EQ(sub->ci->slices, 1);
  auto bad = ResolveProfile(g, "5g.50gb");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().hint().find("3g.40gb (id 9)"), std::string::npos);
  EXPECT_FALSE(ResolveProfile(g, "1c.4g.40gb.x").ok());
  EXPECT_FALSE(ResolveProfile(g, "3c.4g.40gb").ok());  // no 3c inside a 4g GI
}

TEST(ProfileRef, SliceListErrorsSayWhatToWrite) {
  auto r = ParseSliceList(H100(), "3g.40gb@x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().hint().find("PROFILE@START"), std::string::npos);
  EXPECT_FALSE(ParseSliceList(H100(), " , ").ok());
}

}  // namespace
}  // namespace carve::mig

namespace carve::mig {
namespace {

TEST(Layout, WhyNoStartSaysWhatIsInTheWay) {
  std::vector<Slice> four = Slices(H100(), "4g.40gb@0");
  four[0].gi = 1;
  EXPECT_EQ(WhyNoStart(H100(), four, *H100().FindProfile("4g.40gb")), "max 1 reached");
  EXPECT_EQ(WhyNoStart(H100(), four, *H100().FindProfile("7g.80gb")),
            "needs units 0–7: held by GI 1");
  const GpuModel& a30 = *Catalog::Builtin().Find("a30");
  const Profile* two_me = a30.FindProfile("2g.12gb+me");
  ASSERT_NE(two_me, nullptr);
  EXPECT_EQ(WhyNoStart(a30, Slices(a30, "1g.6gb+me@0"), *two_me), "media engines in use")
      << "engines, found from the engine counts, not from an error's text";
  EXPECT_EQ(UnitRuns(0b1101111, 8), "0–3, 5–6");
}

}  // namespace
}  // namespace carve::mig
