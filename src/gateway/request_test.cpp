#include "gateway/request.h"

#include <gtest/gtest.h>

#include "gateway/json_model.h"

namespace carve::gateway {
namespace {

TEST(MatchRoute, ModelAddressedRoutes) {
  for (const char* path : {"/v1/chat/completions", "/v1/completions", "/v1/embeddings",
                           "/v1/responses", "/v1/audio/transcriptions", "/v1/messages",
                           "/v1/rerank", "/tokenize", "/detokenize", "/v1/chat/completions?x=1"})
    EXPECT_EQ(MatchRoute("POST", path).route, Route::kModelAddressed) << path;
}

TEST(MatchRoute, GatewayRoutes) {
  EXPECT_EQ(MatchRoute("GET", "/v1/models").route, Route::kListModels);
  EXPECT_EQ(MatchRoute("GET", "/health").route, Route::kHealth);
  EXPECT_EQ(MatchRoute("GET", "/ready").route, Route::kReady);
  EXPECT_EQ(MatchRoute("GET", "/metrics").route, Route::kMetrics);
  auto m = MatchRoute("GET", "/v1/models/Qwen%2FQwen3-4B");
  EXPECT_EQ(m.route, Route::kGetModel);
  EXPECT_EQ(m.model_id, "Qwen/Qwen3-4B");
  EXPECT_EQ(MatchRoute("GET", "/v1/models/org/name").model_id, "org/name");
}

TEST(MatchRoute, DashboardRoutes) {
  EXPECT_EQ(MatchRoute("GET", "/ui").ui_file, "index.html");
  EXPECT_EQ(MatchRoute("GET", "/ui/").ui_file, "index.html");
  EXPECT_EQ(MatchRoute("GET", "/ui/app.js").route, Route::kUiFile);
  EXPECT_EQ(MatchRoute("GET", "/ui/app.js?v=2").ui_file, "app.js");
  EXPECT_EQ(MatchRoute("GET", "/ui/state").route, Route::kUiState);
  EXPECT_EQ(MatchRoute("GET", "/ui/events").route, Route::kUiEvents);
  EXPECT_EQ(MatchRoute("GET", "/ui/a/b").route, Route::kUnknown);  // no folders
  EXPECT_EQ(MatchRoute("POST", "/ui/state").route, Route::kWrongMethod);
}

TEST(MatchRoute, WrongMethodAndUnknown) {
  EXPECT_EQ(MatchRoute("GET", "/v1/chat/completions").route, Route::kWrongMethod);
  EXPECT_EQ(MatchRoute("POST", "/v1/models").route, Route::kWrongMethod);
  EXPECT_EQ(MatchRoute("DELETE", "/metrics").route, Route::kWrongMethod);
  EXPECT_EQ(MatchRoute("GET", "/").route, Route::kUnknown);
  EXPECT_EQ(MatchRoute("POST", "/admin").route, Route::kUnknown);
}

TEST(ExtractModel, FromJson) {
  auto m = ExtractModel("application/json", R"({"messages":[],"model":"qwen"})");
  ASSERT_TRUE(m.ok()) << m.message;
  EXPECT_EQ(m.model, "qwen");
  EXPECT_EQ(ExtractModel("", R"({"model":"a\"b"})").model, "a\"b");
}

TEST(ExtractModel, OnlyTopLevelCountsAndLastWins) {
  EXPECT_EQ(ExtractModel("", R"({"x":{"model":"inner"},"model":"outer"})").model, "outer");
  EXPECT_EQ(ExtractModel("", R"({"model":"first","model":"second"})").model, "second");
  auto nested_only = ExtractModel("", R"({"x":{"model":"inner"}})");
  EXPECT_EQ(nested_only.error, ErrorKind::kMissingModel);
}

TEST(ExtractModel, MissingEmptyOrWrongTypeIs400MissingModel) {
  for (const char* body : {R"({})", R"({"model":""})", R"({"model":null})", R"({"model":7})",
                           R"({"model":["a"]})", R"({"model":{"id":"a"}})"})
    EXPECT_EQ(ExtractModel("application/json", body).error, ErrorKind::kMissingModel) << body;
}

TEST(ExtractModel, MalformedJsonIsInvalidJson) {
  for (const char* body : {"", "{", "not json", R"(["model"])", R"("model")", R"({"model":"a"} x)"})
    EXPECT_EQ(ExtractModel("application/json", body).error, ErrorKind::kInvalidJson) << body;
}

constexpr char kForm[] =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"model.wav\"\r\n"
    "Content-Type: audio/wav\r\n\r\n"
    "RIFF....model\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"model\"\r\n\r\n"
    "whisper-1\r\n"
    "--XyZ--\r\n";

TEST(ExtractModel, FromMultipartForm) {
  auto m = ExtractModel("multipart/form-data; boundary=XyZ", kForm);
  ASSERT_TRUE(m.ok()) << m.message;
  EXPECT_EQ(m.model, "whisper-1");
  EXPECT_EQ(ExtractModel("multipart/form-data; boundary=\"XyZ\"", kForm).model, "whisper-1");
}

TEST(ExtractModel, MultipartWithoutModelIs400) {
  std::string no_model =
      "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--\r\n";
  EXPECT_EQ(ExtractModel("multipart/form-data; boundary=b", no_model).error,
            ErrorKind::kMissingModel);
  EXPECT_EQ(ExtractModel("multipart/form-data", kForm).error, ErrorKind::kMissingModel);
  EXPECT_EQ(ExtractModel("multipart/form-data; boundary=XyZ", "--XyZ\r\ntruncated").error,
            ErrorKind::kMissingModel);
}

TEST(MultipartBoundary, ParsesParameter) {
  EXPECT_EQ(MultipartBoundary("multipart/form-data; charset=utf-8; boundary=abc"), "abc");
  EXPECT_EQ(MultipartBoundary("multipart/form-data;BOUNDARY=\"a b\""), "a b");
  EXPECT_EQ(MultipartBoundary("multipart/form-data"), "");
}

// Issue #12.9: /v1/../../admin/reset passed the /v1 allow-list verbatim.
TEST(HasDotSegment, FindsDotSegmentsPlainAndEncoded) {
  for (const char* bad : {"/v1/../../admin/reset", "/v1/./chat/completions", "/v1/%2e%2e/x",
                          "/v1/%2E./x", "/v1/chat/..", "/v1/.", "/..?x=1"})
    EXPECT_TRUE(HasDotSegment(bad)) << bad;
  for (const char* ok : {"/v1/chat/completions", "/v1/models/org/a.b", "/v1/...", "/v1/.x",
                         "/v1/models?path=../x", "/v1/x%2e"})
    EXPECT_FALSE(HasDotSegment(ok)) << ok;
}

// Issue #12.14: 32 levels of JSON were refused, though tool schemas go deeper.
TEST(ExtractModel, DeepJsonIsAcceptedUpToTheBound) {
  auto nest = [](int depth) {
    std::string s = R"({"model":"m","tools":)";
    for (int i = 0; i < depth; ++i) s += "[";
    for (int i = 0; i < depth; ++i) s += "]";
    return s + "}";
  };
  auto deep = ExtractModel("application/json", nest(100));
  EXPECT_TRUE(deep.ok()) << deep.message;
  auto too_deep = ExtractModel("application/json", nest(kMaxJsonDepth + 5));
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(*too_deep.error, ErrorKind::kInvalidJson);
  EXPECT_NE(too_deep.message.find("deeper than"), std::string::npos) << too_deep.message;
}

}  // namespace
}  // namespace carve::gateway
