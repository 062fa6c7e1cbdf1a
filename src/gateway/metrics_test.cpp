#include "gateway/metrics.h"

#include <gtest/gtest.h>

#include "gateway/access_log.h"
#include "gateway/exposition.h"
#include "gateway/keyed_counts.h"

namespace carve::gateway {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(PromWriter, HistogramIsCumulativeWithInf) {
  Histogram h;
  h.Observe(0.0004);
  h.Observe(0.003);
  h.Observe(100);
  PromWriter w;
  w.Family("x_seconds", "histogram", "help");
  w.WriteHistogram("x_seconds", {{"model", "m"}}, h);
  const auto& t = w.text();
  EXPECT_TRUE(Has(t, "# TYPE x_seconds histogram\n"));
  EXPECT_TRUE(Has(t, "x_seconds_bucket{model=\"m\",le=\"0.0005\"} 1\n"));
  EXPECT_TRUE(Has(t, "x_seconds_bucket{model=\"m\",le=\"0.005\"} 2\n"));
  EXPECT_TRUE(Has(t, "x_seconds_bucket{model=\"m\",le=\"60\"} 2\n"));
  EXPECT_TRUE(Has(t, "x_seconds_bucket{model=\"m\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(Has(t, "x_seconds_count{model=\"m\"} 3\n"));
}

TEST(PromWriter, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  PromWriter w;
  w.Sample("m", {{"k", "v\""}}, 1.5);
  EXPECT_EQ(w.text(), "m{k=\"v\\\"\"} 1.5\n");
}

TEST(RenderMetrics, EveryReplicaSeriesCarriesTheLabelSetAndRequestsTheKey) {
  Router router;
  std::string url = "http://127.0.0.1:9000";
  Backend b{"m", url, "0", "3g.40gb@4", "GPU-1", "3g.40gb", "4:4", "MIG-2", "vllm"};
  router.Update({{b, *ParseUrl(url)}}, {}, Limits{});
  auto pool = router.Find("m");
  auto r = pool->replicas()[0];
  KeyRing keys({{"team-a", std::string(64, 'a'), {"*"}}, {"gone", std::string(64, 'b'), {"*"}}});
  uint64_t team_a = KeyTag("team-a");
  r->requests.Add(team_a, 200);
  r->requests.Add(team_a, 200);
  r->requests.Add(0, 503);
  r->requests.Add(KeyTag("removed-by-a-reload"), 200);
  r->duration.Observe(0.01);
  pool->replica_wait.Observe(4);
  pool->errors.Add(team_a, static_cast<uint32_t>(ErrorKind::kNoHealthyUpstream));
  pool->errors.Add(team_a, static_cast<uint32_t>(ErrorKind::kNoHealthyUpstream));
  ErrorCounts unrouted{};
  unrouted[static_cast<size_t>(ErrorKind::kUnauthorized)] += 1;
  std::string t =
      RenderMetrics(router, unrouted, {3, false}, "carve_slice_memory_used_bytes 1\n", keys);
  const std::string labels =
      R"(gpu="0",gpu_uuid="GPU-1",profile="3g.40gb",placement="4:4",mig_uuid="MIG-2",)"
      R"(model="m",engine="vllm",replica="http://127.0.0.1:9000")";
  EXPECT_TRUE(
      Has(t, "carve_gateway_requests_total{" + labels + R"(,key="team-a",status="200"} 2)"));
  EXPECT_TRUE(Has(t, "carve_gateway_requests_total{" + labels + R"(,key="",status="503"} 1)"));
  EXPECT_FALSE(Has(t, "removed")) << "a key a reload removed leaves the page";
  EXPECT_TRUE(Has(t, "carve_gateway_upstream_healthy{" + labels + "} 1\n"));
  EXPECT_TRUE(Has(t, "carve_gateway_in_flight_requests{" + labels + "} 0\n"));
  EXPECT_TRUE(
      Has(t, "carve_gateway_request_duration_seconds_bucket{" + labels + R"(,le="0.01"} 1)"));
  EXPECT_TRUE(Has(t, "carve_gateway_request_duration_seconds_count{" + labels + "} 1\n"));
  EXPECT_TRUE(Has(t, "carve_gateway_queue_depth{model=\"m\"} 0\n"));
  EXPECT_TRUE(Has(t, "# TYPE carve_model_wait_for_replica_seconds histogram\n"));
  EXPECT_TRUE(Has(t, R"(carve_model_wait_for_replica_seconds_bucket{model="m",le="2.5"} 0)"));
  EXPECT_TRUE(Has(t, R"(carve_model_wait_for_replica_seconds_bucket{model="m",le="10"} 1)"));
  EXPECT_TRUE(Has(t, "carve_model_wait_for_replica_seconds_count{model=\"m\"} 1\n"));
  EXPECT_TRUE(Has(
      t,
      R"(carve_gateway_errors_total{model="m",key="team-a",code="upstream_unavailable",status="503"} 2)"));
  EXPECT_TRUE(Has(
      t, R"(carve_gateway_errors_total{model="",key="",code="invalid_api_key",status="401"} 1)"));
  EXPECT_TRUE(Has(t, "carve_gateway_open_connections 3\n"));
  EXPECT_TRUE(t.ends_with("carve_slice_memory_used_bytes 1\n"));
}

TEST(RenderMetrics, AConfigSliceGivesProfileOrMigUuid) {
  auto labels = [](std::string slice) {
    return JoinLabels(BackendLabels(Backend{"m", "http://h:1", "0", std::move(slice)}));
  };
  EXPECT_TRUE(Has(labels("1g.10gb@3"), R"(profile="1g.10gb",placement="",mig_uuid="")"));
  EXPECT_TRUE(Has(labels("MIG-abc"), R"(profile="",placement="",mig_uuid="MIG-abc")"));
}

TEST(AccessLog, OneJsonLineWithoutTheKey) {
  AccessRecord r;
  r.id = "req-1";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.model = "m";
  r.key = "team-a";
  r.status = 200;
  r.duration_ms = 1.5;
  std::string line = FormatAccessRecord(r, 1000);
  EXPECT_TRUE(line.ends_with("}\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_TRUE(Has(line, R"("key":"team-a")"));
  EXPECT_TRUE(Has(line, R"("duration_us":1500)"));
  EXPECT_TRUE(Has(line, R"("status":200)"));
}

}  // namespace
}  // namespace carve::gateway
