#include "gateway/keyed_counts.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <vector>

namespace carve::gateway {
namespace {

std::map<std::pair<uint64_t, uint32_t>, uint64_t> AsMap(const KeyedCounts& c) {
  std::map<std::pair<uint64_t, uint32_t>, uint64_t> out;
  for (const auto& e : c.NonZero()) out[{e.key_tag, e.code}] = e.count;
  return out;
}

TEST(KeyTag, EmptyIsZeroOthersAreNotAndFitTheTable) {
  EXPECT_EQ(KeyTag(""), 0u);
  EXPECT_NE(KeyTag("team-a"), 0u);
  EXPECT_NE(KeyTag("team-a"), KeyTag("team-b"));
  EXPECT_LT(KeyTag("team-a"), uint64_t{1} << 54);
}

TEST(KeyedCounts, CountsEachPairFromManyThreads) {
  KeyedCounts c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&c] {
      for (int i = 0; i < 5000; ++i) {
        c.Add(KeyTag("a"), 200);
        c.Add(i % 2 ? KeyTag("b") : 0, 503);
      }
    });
  for (auto& t : threads) t.join();
  auto m = AsMap(c);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ((m[{KeyTag("a"), 200}]), 20000u);
  EXPECT_EQ((m[{KeyTag("b"), 503}]), 10000u);
  EXPECT_EQ((m[{0, 503}]), 10000u);
  EXPECT_EQ(c.overflow(), 0u);
}

TEST(KeyedCounts, FiftyKeysTimesFiveStatusesFitAndAFullTableOverflows) {
  KeyedCounts c;
  for (int k = 0; k < 50; ++k)
    for (uint32_t s : {200u, 400u, 429u, 500u, 503u}) c.Add(KeyTag("key-" + std::to_string(k)), s);
  EXPECT_EQ(c.NonZero().size(), 250u);
  for (uint32_t code = 0; code < KeyedCounts::kSlots; ++code) c.Add(KeyTag("flood"), code);
  EXPECT_EQ(c.NonZero().size(), KeyedCounts::kSlots);
  EXPECT_EQ(c.overflow(), 250u);
}

}  // namespace
}  // namespace carve::gateway
