// The one strict YAML reader: what every YAML format carve reads inherits.
#include "util/yaml_fields.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace carve::yaml {
namespace {

using ::testing::HasSubstr;

YAML::Node Load(const std::string& text) {
  auto n = Parse(text, "f.yaml");
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : YAML::Node();
}

TEST(YamlFields, ParseRefusesBadYamlAndASecondDocumentAtTheirLine) {
  auto bad = Parse("a: [\n", "f.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("f.yaml:2: not valid YAML"));
  auto two = Parse("a: 1\n---\na: 2\n", "f.yaml");
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(two.status().message(), HasSubstr("f.yaml:3: a second YAML document"));
  auto empty = Parse("", "f.yaml");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->IsDefined() && !empty->IsNull());
}

TEST(YamlFields, AKeyGivenTwiceIsRefusedAtAnyDepth) {
  EXPECT_TRUE(CheckNoDuplicateKeys("f.yaml", Load("a: 1\nb: {c: 1, d: 2}\n")).ok());
  Status st = CheckNoDuplicateKeys("f.yaml", Load("a: 1\nb:\n  - {c: 1}\n  - c: 1\n    c: 2\n"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "f.yaml:5: key 'c' is given twice in one mapping");
}

// Aliases naming aliases: 2^40 values from a few lines. The walk stops, with
// an error, instead of hanging.
TEST(YamlFields, AliasesThatExpandAreRefusedNotWalked) {
  std::string text = "a0: &a0 [x, x]\n";
  for (int i = 1; i <= 40; ++i) text += fmt::format("a{0}: &a{0} [*a{1}, *a{1}]\n", i, i - 1);
  Status st = CheckNoDuplicateKeys("f.yaml", Load(text));
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("YAML aliases that expand"));
}

TEST(YamlFields, UnknownKeysSuggestTheNearestAndNameTheDocs) {
  Fields f(Load("replica: 2\n"), "f.yaml", "model 'a'", "docs/x.md");
  Status st = f.Check({"name", "replicas"});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "f.yaml:1: model 'a' has unknown key 'replica'");
  EXPECT_EQ(st.hint(), "Did you mean 'replicas'? Known keys here: name, replicas (docs/x.md).");
  Status own = f.Check({"name"}, "Only name.");
  EXPECT_EQ(own.hint(), "Only name.");
  EXPECT_THAT(Fields(Load("[1]\n"), "f.yaml", "x").Check({"a"}).message(),
              HasSubstr("x must be a mapping"));
}

TEST(YamlFields, WholeNumbersKeepToTheirRangeAndType) {
  Fields f(Load("a: 7\nb: -1\nc: many\nd: 5000000000\ne: [1]\n"), "f.yaml", "cfg");
  int a = 0;
  ASSERT_TRUE(f.Whole("a", &a, 1).ok());
  EXPECT_EQ(a, 7);
  int b = 3;
  EXPECT_EQ(f.Whole("b", &b, 0).message(), "f.yaml:2: cfg: 'b' is '-1', not a whole number ≥ 0");
  EXPECT_EQ(b, 3);  // untouched on error
  EXPECT_THAT(f.Whole("c", &b).message(), HasSubstr("'c' is 'many'"));
  uint64_t d = 0;
  EXPECT_EQ(f.Whole<uint64_t>("d", &d, 1, 1ull << 32).message(),
            "f.yaml:4: cfg: 'd' is '5000000000', not a whole number from 1 to 4294967296");
  ASSERT_TRUE(f.Whole<uint64_t>("d", &d).ok());
  EXPECT_EQ(d, 5000000000u);
  EXPECT_FALSE(f.Whole("d", &a).ok());  // beyond an int: refused, not wrapped
  EXPECT_THAT(f.Whole("e", &a).message(), HasSubstr("'e' is '…'"));
  int absent = 42;
  ASSERT_TRUE(f.Whole("zz", &absent).ok());
  EXPECT_EQ(absent, 42);
}

TEST(YamlFields, StringsBooleansAndLists) {
  Fields f(Load("s: x\nl: [a, b]\nm: {k: v}\nt: on\nn: maybe\n"), "f.yaml", "cfg");
  std::string s;
  ASSERT_TRUE(f.Str("s", &s).ok());
  EXPECT_EQ(s, "x");
  EXPECT_THAT(f.Str("l", &s).message(), HasSubstr("must be a single value"));
  EXPECT_THAT(f.Str("missing", &s, true).message(), HasSubstr("cfg lacks 'missing'"));
  std::vector<std::string> l;
  ASSERT_TRUE(f.StrList("l", &l).ok());
  EXPECT_EQ(l, (std::vector<std::string>{"a", "b"}));
  EXPECT_THAT(f.StrList("m", &l).message(), HasSubstr("must be a list"));
  std::optional<bool> t;
  ASSERT_TRUE(f.OptBool("t", &t).ok());
  EXPECT_EQ(t, true);
  EXPECT_THAT(f.OptBool("n", &t).message(), HasSubstr("'n' is 'maybe', not true or false"));
}

}  // namespace
}  // namespace carve::yaml
