#include "spec/spec.h"

#include <gtest/gtest.h>

#include "spec/quantity.h"

namespace carve::spec {
namespace {

TEST(Quantity, MemorySizes) {
  EXPECT_EQ(*ParseMemoryMiB("10GiB"), 10240u);
  EXPECT_EQ(*ParseMemoryMiB("14GB"), 13352u);  // 14e9 / 2^20 = 13351.4, rounded up
  EXPECT_EQ(*ParseMemoryMiB("9728MiB"), 9728u);
  EXPECT_EQ(*ParseMemoryMiB("1.5 Gi"), 1536u);
  EXPECT_FALSE(ParseMemoryMiB("16").ok());
  EXPECT_FALSE(ParseMemoryMiB("ten GiB").ok());
}

// issue #12: 1e20GiB converted to uint64_t (undefined) and came out as 0, "no
// memory stated"; a size that rounds to nothing came out as 0 as well.
TEST(Quantity, MemoryBeyondOnePiBIsRefusedAndNoneIsZero) {
  auto huge = ParseMemoryMiB("1e20GiB");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("'1e20GiB' is more than 1 PiB"), std::string::npos);
  EXPECT_FALSE(ParseMemoryMiB("1025TiB").ok());
  EXPECT_EQ(*ParseMemoryMiB("1024TiB"), kMaxMemoryMiB);
  EXPECT_EQ(*ParseMemoryMiB("1e-300GiB"), 1u);
}

// issue #12: sscanf("%dg.%dgb") took "99g.1tb" for 99g.1gb.
TEST(Quantity, MinProfileIsExactlyNgMgb) {
  auto p = ParseMinProfile("3g.40gb");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->compute, 3);
  EXPECT_EQ(p->gb, 40);
  for (const char* bad :
       {"99g.1tb", "1g.10gb+me", "0g.10gb", "1g.0gb", "99999999999g.1gb", "3g", ""})
    EXPECT_FALSE(ParseMinProfile(bad).ok()) << bad;
}

TEST(Spec, AbsurdQuantitiesNameTheirLine) {
  auto s = ParseSpec(
      "version: v1\nmodels:\n  - name: a\n    memory: 1GiB\n    replicas: 1\n"
      "    min_profile: 99g.1tb\n",
      "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(
                "c.yaml:6: model 'a': 'min_profile' '99g.1tb' is not a profile name"),
            std::string::npos)
      << s.status().message();
  s = ParseSpec("version: v1\nmodels:\n  - name: a\n    memory: 1e20GiB\n    replicas: 1\n",
                "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:4:"), std::string::npos) << s.status().message();
  s = ParseSpec("version: v1\nfleet:\n  - {gpu: h100-80gb, count: 2000000000}\n", "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:3:"), std::string::npos) << s.status().message();
}

TEST(Spec, ParsesTheDesignExample) {
  auto s = ParseSpec(R"(version: v1
fleet:
  - {gpu: h100-80gb, count: 2, cost_per_month: 2100}
gpus:
  - index: 0
    mig: on
    slices: [3g.40gb@4]
models:
  - name: qwen3-4b
    engine: vllm
    source: Qwen/Qwen3-4B
    memory: 10GiB
    replicas: 2
    args: ["--max-model-len", "8192"]
  - name: resnet50
    engine: command
    command: ["./serve.sh", "--port", "{port}"]
    throughput: 1200
    latency_slo_ms: 100
    profiles:
      - {profile: 1g.10gb, throughput: 412, latency_ms: 35}
      - {profile: 3g.40gb, throughput: 1423, latency_ms: 41, args: ["--batch", "16"]}
gateway:
  listen: 127.0.0.1:8000
)",
                     "carve.yaml");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->models.size(), 2u);
  EXPECT_EQ(*s->models[0].memory_mib, 10240u);
  EXPECT_EQ(s->models[1].profiles[1].args[1], "16");
  EXPECT_EQ((*s->fleet)[0].cost_per_month, 2100);
  ASSERT_TRUE(s->gpus.has_value());
  ASSERT_EQ(s->gpus->size(), 1u);
  EXPECT_EQ((*s->gpus)[0].index, 0);
  EXPECT_TRUE((*s->gpus)[0].mig);
  EXPECT_EQ((*s->gpus)[0].slices->at(0).slice, "3g.40gb@4");
  EXPECT_EQ((*s->gpus)[0].where.line, 5);
  EXPECT_EQ(s->gateway["listen"].Scalar(), "127.0.0.1:8000");
  EXPECT_EQ(s->gpus_where.line, 5);
}

// Issue #14.2: gpus: is read here, once, into types; apply/ only places them.
TEST(Spec, ReadsGpusIntoTypes) {
  auto s = ParseSpec(R"(version: v1
gpus:
  - uuid: GPU-1
    slices: [1g.10gb, {slice: 3g.40gb@0, compute: [1c, 2c]}, {slice: 1g.10gb@4, compute: []}]
  - model: a100-80gb
    mig: off
  - all: true
    mig: on
)",
                     "c.yaml");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const auto& g = *s->gpus;
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].uuid, "GPU-1");
  ASSERT_EQ(g[0].slices->size(), 3u);
  EXPECT_FALSE((*g[0].slices)[0].mapping);
  EXPECT_FALSE((*g[0].slices)[0].compute.has_value());
  EXPECT_EQ((*g[0].slices)[1].compute, (std::vector<std::string>{"1c", "2c"}));
  EXPECT_TRUE((*g[0].slices)[2].compute->empty());
  EXPECT_EQ((*g[0].slices)[2].where.line, 4);
  EXPECT_EQ(g[1].model, "a100-80gb");
  EXPECT_FALSE(g[1].mig);
  EXPECT_FALSE(g[1].slices.has_value());
  EXPECT_TRUE(g[2].all);
}

TEST(Spec, GpusErrorsNameTheLine) {
  struct Case {
    const char* gpus;
    const char* message;
  } cases[] = {
      {"  - index: 0\n    slicez: []\n", "c.yaml:4: gpus[0] has unknown key 'slicez'"},
      {"  - index: 0\n    uuid: GPU-1\n    mig: on\n", "c.yaml:3: gpus[0] must say which GPUs"},
      {"  - all: false\n    mig: on\n", "c.yaml:3: gpus[0]: 'all' may only be true"},
      {"  - index: -1\n    mig: on\n", "c.yaml:3: gpus[0]: 'index' is '-1'"},
      {"  - index: 0\n", "c.yaml:3: gpus[0] must say mig: on|off, slices: […], or both"},
      {"  - index: 0\n    mig: off\n    slices: [1g.10gb]\n",
       "c.yaml:5: gpus[0]: 'slices' contradicts mig: off"},
      {"  - index: 0\n    slices: 1g.10gb\n", "c.yaml:4: gpus[0]: 'slices' must be a list"},
      {"  - index: 0\n    slices: [{compute: [1c]}]\n",
       "c.yaml:4: gpus[0].slices[0] is a mapping without slice:"},
      {"  - index: 0\n    slices: [{slice: 3g.40gb, compute: 1c}]\n",
       "c.yaml:4: gpus[0].slices[0]: 'compute' must be a list"},
      {"  - index: 0\n    mig: on\n    mig: off\n", "c.yaml:5: key 'mig' is given twice"},
      {"  index: 0\n", "c.yaml:3: 'gpus' must be a list"},
  };
  for (const auto& c : cases) {
    auto s = ParseSpec(std::string("version: v1\ngpus:\n") + c.gpus, "c.yaml");
    ASSERT_FALSE(s.ok()) << c.gpus;
    EXPECT_NE(s.status().message().find(c.message), std::string::npos) << c.gpus << "\n"
                                                                       << s.status().message();
  }
}

TEST(Spec, UnknownKeyNamesFileLineAndSuggests) {
  auto s =
      ParseSpec("version: v1\nmodels:\n  - name: a\n    memory: 1GiB\n    replica: 2\n", "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:5: model 'a' has unknown key 'replica'"),
            std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().hint().find("Did you mean 'replicas'?"), std::string::npos);
}

TEST(Spec, CurrencyIsAnIso4217CodeDefaultingToUsd) {
  auto usd = ParseSpec("version: v1\n", "c.yaml");
  ASSERT_TRUE(usd.ok());
  EXPECT_EQ(usd->currency, "USD");
  auto eur = ParseSpec("version: v1\ncurrency: EUR\n", "c.yaml");
  ASSERT_TRUE(eur.ok()) << eur.status().ToString();
  EXPECT_EQ(eur->currency, "EUR");
  for (const char* bad : {"eur", "EURO", "€", "12"}) {
    auto s = ParseSpec(std::string("version: v1\ncurrency: ") + bad + "\n", "c.yaml");
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.status().message().find("c.yaml:2"), std::string::npos) << s.status().ToString();
  }
}

// Issue #12.20: env was documented but refused as an unknown key.
TEST(Spec, EnvReachesTheModelAndBadNamesAreRefused) {
  auto s = ParseSpec(
      "version: v1\nmodels:\n  - name: a\n    memory: 1GiB\n    replicas: 1\n"
      "    env: {HF_HOME: /models, VLLM_LOGGING_LEVEL: DEBUG}\n",
      "c.yaml");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->models[0].env.at("HF_HOME"), "/models");
  auto bad = ParseSpec(
      "version: v1\nmodels:\n  - name: a\n    memory: 1GiB\n    replicas: 1\n"
      "    env: {1BAD: x}\n",
      "c.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("c.yaml:6"), std::string::npos) << bad.status().ToString();
}

TEST(Spec, LauncherIsProcessOrDockerAndDockerNeedsAnImageToRun) {
  auto model = [](const std::string& extra) {
    return ParseSpec(
        "version: v1\nmodels:\n  - name: a\n    memory: 1GiB\n    replicas: 1\n" + extra, "c.yaml");
  };
  auto plain = model("");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->models[0].launcher, "process");
  auto docker = model("    launcher: docker\n");
  ASSERT_TRUE(docker.ok()) << docker.status().ToString();
  EXPECT_EQ(docker->models[0].launcher, "docker");
  auto podman = model("    launcher: podman\n");
  ASSERT_FALSE(podman.ok());
  EXPECT_NE(podman.status().message().find("c.yaml:6: model 'a': 'launcher' is 'podman'"),
            std::string::npos)
      << podman.status().ToString();
  EXPECT_NE(podman.status().hint().find("docker"), std::string::npos);
  auto echo = model("    engine: echo\n    launcher: docker\n");
  ASSERT_FALSE(echo.ok());
  EXPECT_NE(echo.status().message().find("engine 'echo' has no image"), std::string::npos)
      << echo.status().ToString();
  EXPECT_TRUE(model("    engine: echo\n    launcher: docker\n    image: carve:1\n").ok());
}

TEST(Spec, AutoscaleBoundsReplicasWithFileLineErrors) {
  auto model = [](const std::string& replicas, const std::string& autoscale) {
    return ParseSpec("version: v1\nmodels:\n  - name: a\n    memory: 1GiB\n" + replicas +
                         "    autoscale: " + autoscale + "\n",
                     "c.yaml");
  };
  auto ok = model("    replicas: 2\n", "{min: 1, max: 4}");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_TRUE(ok->models[0].autoscale);
  EXPECT_EQ(ok->models[0].autoscale->min, 1);
  EXPECT_EQ(ok->models[0].autoscale->max, 4);
  EXPECT_EQ(ok->models[0].autoscale->interval_s, 60);
  auto every = model("    replicas: 1\n", "{min: 1, max: 2, interval_s: 10}");
  ASSERT_TRUE(every.ok()) << every.status().ToString();
  EXPECT_EQ(every->models[0].autoscale->interval_s, 10);
  struct Bad {
    std::string replicas, autoscale, says;
  };
  const Bad bad[] = {
      {"    replicas: 2\n", "{min: 3, max: 2}",
       "c.yaml:6: model 'a' autoscale: 'max' is 2, below min 3"},
      {"    replicas: 1\n", "{min: 0, max: 2}", "c.yaml:6"},
      {"    replicas: 5\n", "{min: 1, max: 4}", "'replicas' is 5, outside autoscale's [1, 4]"},
      {"    replicas: 1\n", "{max: 4}", "needs both 'min' and 'max'"},
      {"    replicas: 1\n", "{min: 1, max: 2, interval_s: 5}", "interval_s"},
      {"    replicas: 1\n", "{min: 1, max: 2, every: 3}", "every"},
      {"    replicas: 1\n", "4", "must be a mapping"},
      {"    throughput: 10\n    profiles: [{profile: 1g.10gb, throughput: 5}]\n",
       "{min: 1, max: 2}", "'autoscale' needs 'replicas'"},
  };
  for (const auto& b : bad) {
    auto s = model(b.replicas, b.autoscale);
    ASSERT_FALSE(s.ok()) << b.autoscale;
    EXPECT_NE(s.status().message().find(b.says), std::string::npos) << s.status().ToString();
  }
}

TEST(Spec, UnknownVersionIsRefused) {
  auto s = ParseSpec("version: v2\n", "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:1: the spec: 'version' is 'v2'; this carve reads v1"),
            std::string::npos)
      << s.status().message();
}

TEST(Spec, BadMemoryHasLineAndExample) {
  auto s =
      ParseSpec("version: v1\nmodels:\n  - name: a\n    memory: 16\n    replicas: 1\n", "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:4"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().hint().find("10GiB"), std::string::npos);
}

TEST(Spec, ReplicasOrThroughputNotBoth) {
  auto s = ParseSpec(
      "version: v1\nmodels:\n  - name: a\n    memory: 1GiB\n    replicas: 1\n    throughput: 5\n   "
      " profiles: [{profile: 1g.10gb, throughput: 1}]\n",
      "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("exactly one of 'replicas' or 'throughput'"),
            std::string::npos);
}

TEST(Spec, CostsForAllOrNone) {
  auto s = ParseSpec(
      "version: v1\nfleet:\n  - {gpu: h100-80gb, cost_per_month: 1}\n  - {gpu: h100-80gb}\n",
      "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:4"), std::string::npos) << s.status().message();
}

TEST(Spec, UnknownKeyInProfileRow) {
  auto s = ParseSpec(
      "version: v1\nmodels:\n  - name: a\n    throughput: 5\n    profiles:\n      - {profile: "
      "1g.10gb, thruput: 1}\n",
      "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:6"), std::string::npos) << s.status().message();
}

TEST(Spec, SpareIsAProfileAndACountWithErrorsOnTheirLine) {
  auto s = ParseSpec("version: v1\nspare: {profile: 1g.10gb, count: 2}\n", "c.yaml");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s->spare.has_value());
  EXPECT_EQ(s->spare->profile, "1g.10gb");
  EXPECT_EQ(s->spare->count, 2);
  auto one = ParseSpec("version: v1\nspare: {profile: 1g.10gb}\n", "c.yaml");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->spare->count, 1);
  for (const char* bad :
       {"spare: 1g.10gb\n", "spare: {count: 1}\n", "spare: {profile: 1g.10gb, count: -1}\n",
        "spare: {profile: 1g.10gb, cuont: 1}\n"}) {
    auto e = ParseSpec(std::string("version: v1\n") + bad, "c.yaml");
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.status().message().find("c.yaml:2"), std::string::npos) << e.status().message();
    EXPECT_NE(e.status().message().find("spare"), std::string::npos) << e.status().message();
  }
}

TEST(Spec, InvalidYamlHasLine) {
  auto s = ParseSpec("version: v1\nmodels: [\n", "c.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("c.yaml:"), std::string::npos);
}

TEST(Spec, ExamplesParse) {
  for (const char* f : {"mixed.yaml", "estimate.yaml", "mixed-fleet.yaml", "on-demand.yaml"}) {
    auto s = LoadSpec(std::string(CARVE_SOURCE_DIR) + "/examples/" + f);
    EXPECT_TRUE(s.ok()) << f << ": " << s.status().ToString();
  }
}

}  // namespace
}  // namespace carve::spec
