#include "gateway/metrics.h"

#include <gtest/gtest.h>

#include "gateway/access_log.h"
#include "gateway/exposition.h"

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

TEST(StatusCounts, CountsOnlyValidStatuses) {
  StatusCounts c;
  c.Add(200);
  c.Add(200);
  c.Add(503);
  c.Add(42);
  auto nz = c.NonZero();
  ASSERT_EQ(nz.size(), 2u);
  EXPECT_EQ(nz[0], std::make_pair(200, uint64_t{2}));
  EXPECT_EQ(nz[1], std::make_pair(503, uint64_t{1}));
}

TEST(RenderMetrics, PerReplicaLabelsErrorsAndExtraLines) {
  Router router;
  std::string url = "http://127.0.0.1:9000";
  router.Update({{Backend{"m", url, "0", "3g.40gb@4"}, *ParseUrl(url)}}, {}, Limits{});
  auto pool = router.Find("m");
  auto r = pool->replicas()[0];
  r->responses.Add(200);
  r->duration.Observe(0.01);
  pool->errors[static_cast<size_t>(ErrorKind::kNoHealthyUpstream)] += 2;
  ErrorCounts unrouted{};
  unrouted[static_cast<size_t>(ErrorKind::kUnauthorized)] += 1;
  std::string t = RenderMetrics(router, unrouted, {3, false}, "carve_slice_memory_used_bytes 1\n");
  const std::string labels =
      R"(model="m",replica="http://127.0.0.1:9000",gpu="0",slice="3g.40gb@4")";
  EXPECT_TRUE(Has(t, "carve_gateway_requests_total{" + labels + ",status=\"200\"} 1\n"));
  EXPECT_TRUE(Has(t, "carve_gateway_upstream_healthy{" + labels + "} 1\n"));
  EXPECT_TRUE(Has(t, "carve_gateway_in_flight_requests{" + labels + "} 0\n"));
  EXPECT_TRUE(Has(t, "carve_gateway_queue_depth{model=\"m\"} 0\n"));
  EXPECT_TRUE(Has(
      t, R"(carve_gateway_errors_total{model="m",code="upstream_unavailable",status="503"} 2)"));
  EXPECT_TRUE(
      Has(t, R"(carve_gateway_errors_total{model="",code="invalid_api_key",status="401"} 1)"));
  EXPECT_TRUE(Has(t, "carve_gateway_open_connections 3\n"));
  EXPECT_TRUE(t.ends_with("carve_slice_memory_used_bytes 1\n"));
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
