#include "render/layout_bar.h"

#include <gtest/gtest.h>

#include "render/table.h"

namespace carve::render {
namespace {

TEST(LayoutBar, DrawsSlicesAndFreeUnitsOnTheUnitGrid) {
  auto lines =
      DrawBar(8, {{0, 2, "2g.20gb", "GI 3"}, {2, 1, "1g.10gb", "GI 9"}, {4, 4, "3g.40gb", "GI 2"}});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "┌2g.20gb──┬1g──┬────┬3g.40gb────────────┐");
  EXPECT_EQ(lines[1], "│ GI 3    │GI 9│    │ GI 2              │");
  EXPECT_EQ(lines[2], "└─────────┴────┴────┴───────────────────┘");
  EXPECT_EQ(lines[3], " 0    1    2    3    4    5    6    7    placement units");
  // Every line of the box is as wide as the unit grid.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(DisplayWidth(lines[i]), 8u * 5 + 1) << i;
}

TEST(LayoutBar, ANameTooLongForItsSliceIsCutNotDropped) {
  auto lines = DrawBar(
      8,
      {{4, 1, "1g.10gb", "embed"}, {5, 1, "1g.10gb", "chat"}, {6, 2, "2g.20gb", "llama-3.1-8b"}});
  EXPECT_EQ(lines[1], "│    │    │    │    │emb…│chat│llama-3.…│");
  EXPECT_EQ(DisplayWidth(lines[1]), 8u * 5 + 1);
}

TEST(LayoutBar, TwelveUnitGpusGetNarrowerCells) {
  auto lines = DrawBar(12, {{0, 3, "1g.24gb", "GI 3"}});
  EXPECT_EQ(UnitWidth(12), 3);
  EXPECT_EQ(DisplayWidth(lines[0]), 12u * 3 + 1);
  EXPECT_EQ(lines[0].rfind("┌1g.24gb─┬", 0), 0u);
}

// Issue #12.3: a negative start wrote before a vector<bool> (heap overflow).
TEST(LayoutBar, SegmentsOutsideTheBarAreDroppedNotTrusted) {
  auto clean = DrawBar(8, {{4, 4, "3g.40gb", "GI 2"}});
  for (BarSegment bad :
       {BarSegment{-3, 2, "x", ""}, BarSegment{6, 4, "x", ""}, BarSegment{9, 1, "x", ""},
        BarSegment{2, 0, "x", ""}, BarSegment{2, -1, "x", ""}, BarSegment{1, INT32_MAX, "x", ""}}) {
    auto lines = DrawBar(8, {{4, 4, "3g.40gb", "GI 2"}, bad});
    EXPECT_EQ(lines, clean) << bad.start << ":" << bad.size;
  }
}

}  // namespace
}  // namespace carve::render
