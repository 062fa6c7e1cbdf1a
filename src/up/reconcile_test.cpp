#include "up/reconcile.h"

#include <gtest/gtest.h>

namespace carve::up {
namespace {

device::SliceRef At(int gpu, const std::string& profile, int start) {
  return {gpu, profile, start};
}

const std::string kA = R"({"args":[]})", kB = R"({"args":["--x"]})";

struct Case {
  std::string name;
  std::vector<Want> desired;
  std::vector<Have> actual;
  std::vector<Action> expected;
};

using K = ActionKind;

// Every row: desired × actual → actions, keeps first, then moves, starts, stops.
TEST(UpReconcile, DesiredTimesActualGivesActions) {
  const std::vector<Case> cases = {
      {"nothing wanted, nothing runs", {}, {}, {}},
      {"first start",
       {{"chat", kA, At(0, "1g.10gb", 2)}, {"chat", kA, At(0, "1g.10gb", 3)}},
       {},
       {{K::kStart, "", 0}, {K::kStart, "", 1}}},
      {"the same again keeps everything",
       {{"chat", kA, At(0, "1g.10gb", 2)}, {"code", kA, At(0, "3g.40gb", 4)}},
       {{"code/0", "code", kA, At(0, "3g.40gb", 4)}, {"chat/0", "chat", kA, At(0, "1g.10gb", 2)}},
       {{K::kKeep, "chat/0", 0}, {K::kKeep, "code/0", 1}}},
      {"another GPU and profile is a move",
       {{"chat", kA, At(1, "2g.20gb", 0)}},
       {{"chat/0", "chat", kA, At(0, "1g.10gb", 2)}},
       {{K::kMove, "chat/0", 0}}},
      {"grown on the same GPU is a move",
       {{"chat", kA, At(0, "2g.20gb", 2)}},
       {{"chat/0", "chat", kA, At(0, "1g.10gb", 2)}},
       {{K::kMove, "chat/0", 0}}},
      {"changed settings on the same slice is a move",
       {{"chat", kB, At(0, "1g.10gb", 2)}},
       {{"chat/0", "chat", kA, At(0, "1g.10gb", 2)}},
       {{K::kMove, "chat/0", 0}}},
      {"one more replica: the first kept, one started",
       {{"chat", kA, At(0, "1g.10gb", 2)}, {"chat", kA, At(0, "1g.10gb", 3)}},
       {{"chat/0", "chat", kA, At(0, "1g.10gb", 2)}},
       {{K::kKeep, "chat/0", 0}, {K::kStart, "", 1}}},
      {"one fewer replica: the one left over stops",
       {{"chat", kA, At(0, "1g.10gb", 3)}},
       {{"chat/0", "chat", kA, At(0, "1g.10gb", 2)}, {"chat/1", "chat", kA, At(0, "1g.10gb", 3)}},
       {{K::kKeep, "chat/1", 0}, {K::kStop, "chat/0", -1}}},
      {"a model dropped and another added: stop and start, never a move across models",
       {{"code", kA, At(0, "1g.10gb", 2)}},
       {{"chat/0", "chat", kA, At(0, "1g.10gb", 2)}},
       {{K::kStart, "", 0}, {K::kStop, "chat/0", -1}}},
      {"a keep is found before a move takes its replica",
       {{"chat", kA, At(1, "1g.10gb", 0)}, {"chat", kA, At(0, "1g.10gb", 2)}},
       {{"chat/0", "chat", kA, At(0, "1g.10gb", 2)}, {"chat/1", "chat", kA, At(0, "1g.10gb", 3)}},
       {{K::kKeep, "chat/0", 1}, {K::kMove, "chat/1", 0}}},
      {"whole GPUs compare by GPU",
       {{"big", kA, At(1, "", 0)}},
       {{"big/0", "big", kA, At(1, "", 0)}},
       {{K::kKeep, "big/0", 0}}},
  };
  for (const auto& c : cases) {
    auto got = Reconcile(c.desired, c.actual);
    EXPECT_EQ(got, c.expected) << c.name;
  }
}

TEST(UpReconcile, EveryReplicaUsedOnce) {
  std::vector<Want> desired = {{"a", kA, At(0, "1g.10gb", 0)},
                               {"a", kA, At(0, "1g.10gb", 1)},
                               {"b", kA, At(0, "1g.10gb", 2)}};
  std::vector<Have> actual = {{"a/0", "a", kB, At(0, "1g.10gb", 0)},
                              {"b/0", "b", kA, At(0, "1g.10gb", 2)},
                              {"b/1", "b", kA, At(0, "1g.10gb", 3)}};
  auto got = Reconcile(desired, actual);
  std::vector<int> wants(desired.size(), 0);
  std::map<std::string, int> ids;
  for (const auto& a : got) {
    if (a.want >= 0) ++wants[a.want];
    if (!a.id.empty()) ++ids[a.id];
  }
  for (int n : wants) EXPECT_EQ(n, 1);
  EXPECT_EQ(ids.size(), actual.size());
  for (const auto& [id, n] : ids) EXPECT_EQ(n, 1) << id;
  EXPECT_STREQ(ActionName(got.front().kind), "keep");
}

}  // namespace
}  // namespace carve::up
