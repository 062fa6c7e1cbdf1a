#include "gateway/handler.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>

namespace carve::gateway {
namespace {

class DecideTest : public testing::Test {
 protected:
  DecideTest() {
    std::vector<std::pair<Backend, Endpoint>> list;
    for (const char* m : {"m1", "m2"}) {
      std::string url = std::string("http://127.0.0.1:") + (m[1] == '1' ? "9001" : "9002");
      list.push_back({Backend{m, url, "", ""}, *ParseUrl(url)});
    }
    router_.Update(list, {}, Limits{});
  }

  Decision Post(std::string_view body, std::string_view auth = "") {
    return Decide(View(),
                  RequestView{"POST", "/v1/chat/completions", auth, "", "application/json", body});
  }
  Decision Get(std::string_view target, std::string_view auth = "") {
    return Decide(View(), RequestView{"GET", target, auth, "", "", ""});
  }
  GatewayView View() {
    GatewayView v{router_, keys_, probed_, false, 42, [] { return "x 1\n"; }};
    if (under_up_) v.status = [] { return std::string(R"({"slices":[]})"); };
    v.states = [this] {
      return std::make_shared<const std::map<std::string, std::string>>(states_);
    };
    return v;
  }

  Router router_;
  std::map<std::string, std::string> states_;  // carve up's on-demand models
  KeyRing keys_;
  bool probed_ = true;
  bool under_up_ = true;  // a status source, as carve up gives
};

TEST_F(DecideTest, ModelRequestIsProxied) {
  Decision d = Post(R"({"model":"m2"})");
  EXPECT_TRUE(d.proxy);
  EXPECT_FALSE(d.error);
  EXPECT_EQ(d.model, "m2");
}

TEST_F(DecideTest, MissingModelIsNeverProxied) {
  Decision d = Post(R"({"messages":[]})");
  EXPECT_FALSE(d.proxy);
  EXPECT_EQ(d.error, ErrorKind::kMissingModel);
  EXPECT_EQ(d.status, 400);
}

TEST_F(DecideTest, UnknownModelIs404) {
  Decision d = Post(R"({"model":"m9"})");
  EXPECT_FALSE(d.proxy);
  EXPECT_EQ(d.error, ErrorKind::kModelNotFound);
  EXPECT_EQ(d.model, "m9");
}

TEST_F(DecideTest, KeysGateEverythingUnderV1ButNotHealth) {
  keys_ = KeyRing({{"a", Sha256Hex("sk-a"), {"m1"}}});
  EXPECT_EQ(Post(R"({"model":"m1"})").error, ErrorKind::kUnauthorized);
  EXPECT_EQ(Get("/v1/models").error, ErrorKind::kUnauthorized);
  EXPECT_EQ(Get("/health").status, 200);
  EXPECT_EQ(Get("/metrics").body, "x 1\n");
  Decision ok = Post(R"({"model":"m1"})", "Bearer sk-a");
  EXPECT_TRUE(ok.proxy);
  ASSERT_NE(ok.key, nullptr);
  EXPECT_EQ(ok.key->name, "a");
  // Forbidden and unknown are the same answer.
  Decision forbidden = Post(R"({"model":"m2"})", "Bearer sk-a");
  Decision unknown = Post(R"({"model":"m9"})", "Bearer sk-a");
  EXPECT_EQ(forbidden.error, ErrorKind::kModelNotFound);
  EXPECT_EQ(unknown.error, ErrorKind::kModelNotFound);
  EXPECT_EQ(
      Get("/v1/models", "Bearer sk-a").body,
      R"({"object":"list","data":[{"id":"m1","object":"model","created":42,"owned_by":"carve",)"
      R"("carve":{"state":"resident"}}]})");
  EXPECT_EQ(Get("/v1/models/m2", "Bearer sk-a").error, ErrorKind::kModelNotFound);
}

TEST_F(DecideTest, TheDashboardIsOpenWithoutKeys) {
  Decision page = Get("/ui");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  EXPECT_FALSE(page.headers.empty());  // its content security policy among them
  Decision state = Get("/ui/state");
  EXPECT_EQ(state.body, R"({"slices":[]})");
  EXPECT_EQ(state.content_type, "application/json");
  EXPECT_TRUE(Get("/ui/events").events);
  EXPECT_EQ(Get("/ui/nothing.js").error, ErrorKind::kRouteNotFound);
}

TEST_F(DecideTest, TheDashboardNeedsAnAdminKeyWhenKeysAreOn) {
  keys_ =
      KeyRing({{"app", Sha256Hex("sk-app"), {"*"}}, {"ops", Sha256Hex("sk-ops"), {"m1"}, true}});
  for (const char* path : {"/ui", "/ui/state", "/ui/events", "/ui/app.js"}) {
    EXPECT_EQ(Get(path).error, ErrorKind::kDashboardUnauthorized) << path;
    EXPECT_EQ(Get(path).status, 401) << path;
    Decision app = Get(path, "Bearer sk-app");
    EXPECT_EQ(app.error, ErrorKind::kForbidden) << path;
    EXPECT_EQ(app.status, 403) << path;
    ASSERT_NE(app.key, nullptr);
    EXPECT_EQ(app.key->name, "app");  // the log names who was refused
    EXPECT_NE(app.body.find("admin: true"), std::string::npos);
    EXPECT_FALSE(Get(path, "Bearer sk-ops").error) << path;
    EXPECT_FALSE(Get(path, "Basic b3BzOnNrLW9wcw==").error) << path;  // "ops:sk-ops", a browser
    EXPECT_EQ(Get(path, "Basic b3BzOnNrLWFwcA==").error, ErrorKind::kForbidden);  // "ops:sk-app"
    // Refused from the head alone, before any body byte is read.
    auto head = DecideFromHead(View(), RequestView{"GET", path, "Bearer sk-app", "", "", ""});
    ASSERT_TRUE(head);
    EXPECT_EQ(head->error, ErrorKind::kForbidden);
    EXPECT_FALSE(DecideFromHead(View(), RequestView{"GET", path, "Bearer sk-ops", "", "", ""}));
  }
  // An admin key is an API key like any other for the models it lists.
  EXPECT_EQ(Post(R"({"model":"m2"})", "Bearer sk-ops").error, ErrorKind::kModelNotFound);
}

TEST_F(DecideTest, AGatewayThatRunsAloneHasNoDashboard) {
  under_up_ = false;
  Decision d = Get("/ui");
  EXPECT_EQ(d.error, ErrorKind::kRouteNotFound);
  EXPECT_NE(d.body.find("carve up"), std::string::npos);
}

TEST_F(DecideTest, ListsEveryModelWithoutKeys) {
  Decision d = Get("/v1/models");
  EXPECT_NE(d.body.find(R"("id":"m1")"), std::string::npos);
  EXPECT_NE(d.body.find(R"("id":"m2")"), std::string::npos);
}

TEST_F(DecideTest, EngineCardWinsOverTheMadeUpOne) {
  router_.Find("m1")->replicas()[0]->set_card(
      R"({"id":"m1","object":"model","max_model_len":8192})");
  EXPECT_EQ(Get("/v1/models/m1").body,
            R"({"id":"m1","object":"model","max_model_len":8192,"carve":{"state":"resident"}})");
}

TEST_F(DecideTest, ReadyNeedsAProbeRoundAndAHealthyReplicaPerModel) {
  probed_ = false;
  EXPECT_EQ(Get("/ready").status, 503);
  probed_ = true;
  EXPECT_EQ(Get("/ready").status, 200);
  auto pool = router_.Find("m2");
  pool->MarkDown(pool->replicas()[0].get());
  Decision d = Get("/ready");
  EXPECT_EQ(d.status, 503);
  EXPECT_NE(d.body.find(R"("m2":{"healthy":0,"replicas":1})"), std::string::npos);
}

TEST_F(DecideTest, UnknownRoutesAndMethods) {
  EXPECT_EQ(Get("/nope").error, ErrorKind::kRouteNotFound);
  EXPECT_EQ(Get("/v1/chat/completions").error, ErrorKind::kMethodNotAllowed);
  EXPECT_EQ(Decide(View(), RequestView{"HEAD", "/health", "", "", "", ""}).error,
            ErrorKind::kMethodNotAllowed);
}

// Issue #12.10: an unknown model was echoed whole (1 MB name, 1 MB answer).
TEST_F(DecideTest, EchoedNamesAndPathsAreClipped) {
  std::string huge(1 << 20, 'x');
  Decision d = Post(R"({"model":")" + huge + R"("})");
  ASSERT_TRUE(d.error);
  EXPECT_LT(d.body.size(), 400u);
  EXPECT_NE(d.body.find("…"), std::string::npos);
  Decision route = Get("/" + huge);
  EXPECT_LT(route.body.size(), 400u);
}

// Issue #12.15: a model whose only replica restarts is kept, not a 404.
TEST_F(DecideTest, AModelWithNoReadyReplicaIsStillRoutedAndNotReady) {
  std::vector<std::pair<Backend, Endpoint>> only_m1;
  only_m1.push_back(
      {Backend{"m1", "http://127.0.0.1:9001", "", ""}, *ParseUrl("http://127.0.0.1:9001")});
  router_.Update(only_m1, {{"m1", Limits{}}, {"m2", Limits{}}}, Limits{});
  Decision d = Post(R"({"model":"m2"})");
  EXPECT_TRUE(d.proxy) << d.body;  // the proxy answers 503 upstream_unavailable
  auto pool = router_.Find("m2");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->Acquire({}, nullptr).outcome, ModelPool::Outcome::kNoHealthy);
  Decision ready = Get("/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find(R"("m2":{"healthy":0,"replicas":0})"), std::string::npos) << ready.body;
  Decision list = Get("/v1/models");
  EXPECT_NE(list.body.find(R"("m2")"), std::string::npos) << list.body;
}

// Issue #16: every model is listed with its state, the card still OpenAI's.
TEST_F(DecideTest, ModelsSayWhetherTheyAreResidentColdOrLoading) {
  std::vector<std::pair<Backend, Endpoint>> only_m1;
  only_m1.push_back(
      {Backend{"m1", "http://127.0.0.1:9001", "", ""}, *ParseUrl("http://127.0.0.1:9001")});
  Limits none{};
  router_.Update(only_m1, {{"m1", none}, {"m2", none}, {"chat", none}, {"code", none}}, none);
  states_ = {{"chat", "cold"}, {"code", "loading"}, {"m1", "cold"}};
  Decision d = Get("/v1/models");
  ASSERT_EQ(d.status, 200);
  auto list = boost::json::parse(d.body).as_object();
  EXPECT_EQ(list.at("object"), "list");
  std::map<std::string, std::string> states;
  for (const auto& card : list.at("data").as_array()) {
    const auto& o = card.as_object();
    EXPECT_EQ(o.at("object"), "model");  // what the openai client reads
    EXPECT_TRUE(o.at("created").is_int64());
    EXPECT_TRUE(o.at("owned_by").is_string());
    states[std::string(o.at("id").as_string())] =
        std::string(o.at("carve").at("state").as_string());
  }
  // m1 has a ready replica: resident, whatever the map says. m2 is pinned
  // and has none: its engine is on its way.
  std::map<std::string, std::string> want = {
      {"chat", "cold"}, {"code", "loading"}, {"m1", "resident"}, {"m2", "loading"}};
  EXPECT_EQ(states, want);
  EXPECT_NE(Get("/v1/models/chat").body.find(R"("carve":{"state":"cold"})"), std::string::npos);
  // A replica that is down or draining is not ready.
  auto m1 = router_.Find("m1");
  m1->MarkDraining(m1->replicas()[0].get());
  EXPECT_NE(Get("/v1/models/m1").body.find(R"("state":"cold")"), std::string::npos);
}

TEST_F(DecideTest, AColdOnDemandModelDoesNotMakeTheGatewayUnready) {
  router_.Update({}, {{"m1", Limits{}}, {"chat", Limits{}}}, Limits{});
  EXPECT_EQ(Get("/ready").status, 503);  // m1 is pinned and has no replica
  states_ = {{"chat", "cold"}, {"m1", "cold"}};
  Decision d = Get("/ready");
  EXPECT_EQ(d.status, 200) << d.body;
  EXPECT_NE(d.body.find(R"("chat":{"healthy":0,"replicas":0,"state":"cold"})"), std::string::npos)
      << d.body;
}

TEST_F(DecideTest, ModelStatesHonourTheKeysModels) {
  keys_ = KeyRing({{"a", Sha256Hex("sk-a"), {"m1"}}});
  states_ = {{"m2", "cold"}};
  Decision d = Get("/v1/models", "Bearer sk-a");
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_NE(d.body.find(R"("id":"m1")"), std::string::npos);
  EXPECT_EQ(d.body.find(R"("m2")"), std::string::npos) << d.body;
  EXPECT_EQ(Get("/v1/models/m2", "Bearer sk-a").error, ErrorKind::kModelNotFound);
}

}  // namespace
}  // namespace carve::gateway
