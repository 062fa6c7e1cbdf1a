// On-demand models and pools in the spec (issue #16): the keys, their
// defaults, and each refusal naming its line.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "spec/quantity.h"
#include "spec/spec.h"

namespace carve::spec {
namespace {

Result<Spec> Parse(const std::string& body) { return ParseSpec("version: v1\n" + body, "c.yaml"); }

// `what` and "c.yaml:LINE" are both in the error.
// The checks between keys give a hint too (what to write instead).
void ExpectError(const std::string& body, int line, const std::string& what, bool hint = true) {
  auto s = Parse(body);
  ASSERT_FALSE(s.ok()) << body;
  const std::string& m = s.status().message();
  EXPECT_NE(m.find(fmt::format("c.yaml:{}:", line)), std::string::npos) << m;
  EXPECT_NE(m.find(what), std::string::npos) << m;
  if (hint) {
    EXPECT_FALSE(s.status().hint().empty()) << m;
  }
}

TEST(Quantity, Durations) {
  EXPECT_EQ(*ParseDurationS("90s"), 90);
  EXPECT_EQ(*ParseDurationS("5m"), 300);
  EXPECT_EQ(*ParseDurationS("2h"), 7200);
  EXPECT_EQ(*ParseDurationS("1d"), 86400);
  EXPECT_EQ(*ParseDurationS("1.5m"), 90);
  EXPECT_EQ(*ParseDurationS("300"), 300);
  EXPECT_EQ(*ParseDurationS("0s"), 0);
  for (const char* bad : {"", "m", "5 minutes", "-1s", "5y", "inf", "nan", "1e10d"})
    EXPECT_FALSE(ParseDurationS(bad).ok()) << bad;
}

TEST(SpecOnDemand, KeysAndDefaults) {
  auto s = Parse(R"(models:
  - {name: a, engine: echo, memory: 4GiB, on_demand: true}
  - {name: b, engine: echo, memory: 2GiB, on_demand: true, pool: small, keep_warm: 10m}
  - {name: c, engine: echo, memory: 2GiB, on_demand: true, pool: small, keep_warm: forever}
  - {name: d, engine: echo, memory: 2GiB, replicas: 1}
pools:
  - {name: small, profile: 1g.10gb, count: 2, resident: 3}
)");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const auto& m = s->models;
  EXPECT_TRUE(m[0].on_demand);
  EXPECT_EQ(m[0].pool, "default");
  EXPECT_EQ(m[0].keep_warm_s, 300);
  EXPECT_EQ(m[1].pool, "small");
  EXPECT_EQ(m[1].keep_warm_s, 600);
  EXPECT_EQ(m[2].keep_warm_s, -1);
  EXPECT_FALSE(m[3].on_demand);
  EXPECT_EQ(m[3].pool, "");
  ASSERT_EQ(s->pools.size(), 1u);
  EXPECT_EQ(s->pools[0].name, "small");
  EXPECT_EQ(s->pools[0].profile, "1g.10gb");
  EXPECT_EQ(s->pools[0].count, 2);
  EXPECT_EQ(s->pools[0].resident, 3);
  EXPECT_EQ(s->pools[0].where.line, 8);
}

TEST(SpecOnDemand, PoolDefaultsLeaveSizingToThePlanner) {
  auto s = Parse(
      "models:\n  - {name: a, engine: echo, memory: 4GiB, on_demand: true, pool: p}\n"
      "pools:\n  - {name: p}\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->pools[0].profile, "");
  EXPECT_EQ(s->pools[0].count, 0);
  EXPECT_EQ(s->pools[0].resident, 2);
}

TEST(SpecOnDemand, PoolAndKeepWarmNeedOnDemand) {
  ExpectError("models:\n  - {name: a, memory: 4GiB, replicas: 1, pool: p}\n", 3,
              "'pool' only applies to an on-demand model");
  ExpectError("models:\n  - {name: a, memory: 4GiB, replicas: 1, keep_warm: 5m}\n", 3,
              "'keep_warm' only applies to an on-demand model");
}

TEST(SpecOnDemand, KeysThatCannotGoWithOnDemandNameTheirLine) {
  const std::string head = "models:\n  - name: a\n    memory: 4GiB\n    on_demand: true\n";
  for (const char* key :
       {"replicas: 1", "throughput: 5", "autoscale: {min: 1, max: 2}", "spread: true",
        "share: true", "tensor_parallel: 2", "min_profile: 1g.10gb", "gpus: [h100-80gb]"}) {
    SCOPED_TRACE(key);
    std::string k(key);
    ExpectError(head + "    " + k + "\n", 6,
                fmt::format("'{}' cannot go with on_demand", k.substr(0, k.find(':'))));
  }
  // Written but off, they say nothing.
  EXPECT_TRUE(Parse(head + "    spread: false\n    share: false\n    tensor_parallel: 1\n").ok());
}

TEST(SpecOnDemand, NeedsMemory) {
  ExpectError("models:\n  - name: a\n    engine: echo\n    on_demand: true\n", 5,
              "'on_demand' needs 'memory'");
}

TEST(SpecOnDemand, BadKeepWarmAndPoolName) {
  ExpectError("models:\n  - {name: a, memory: 4GiB, on_demand: true, keep_warm: soon}\n", 3,
              "'soon' is not a duration");
  ExpectError("models:\n  - {name: a, memory: 4GiB, on_demand: true, pool: Big_Pool}\n", 3,
              "'Big_Pool' is not a pool name");
}

TEST(SpecOnDemand, PoolErrors) {
  const std::string model = "models:\n  - {name: a, memory: 4GiB, on_demand: true, pool: p}\n";
  ExpectError(model + "pools:\n  - {name: p}\n  - {name: p}\n", 6,
              "pool 'p' is declared twice (also at c.yaml:5)");
  ExpectError(model + "pools:\n  - {name: p}\n  - {name: q}\n", 6, "pool 'q' holds no model");
  ExpectError(model + "pools:\n  - {name: p, count: 0}\n", 5, "'count' is '0'", false);
  ExpectError(model + "pools:\n  - {name: p, resident: 0}\n", 5, "'resident' is '0'", false);
  ExpectError(model + "pools:\n  - {name: p, size: 2}\n", 5, "size", false);
  auto nameless = Parse(model + "pools:\n  - {profile: 1g.10gb}\n");
  ASSERT_FALSE(nameless.ok());
  EXPECT_NE(nameless.status().message().find("c.yaml:5: pools[0] lacks 'name'"), std::string::npos)
      << nameless.status().message();
  ExpectError(model + "pools: {name: p}\n", 4, "'pools' must be a list");
}

}  // namespace
}  // namespace carve::spec
