#include "gateway/keys.h"

#include <gtest/gtest.h>

#include "gateway/errors.h"

namespace carve::gateway {
namespace {

TEST(Sha256Hex, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(PresentedKey, BearerOrXApiKey) {
  EXPECT_EQ(PresentedKey("Bearer sk-1", ""), "sk-1");
  EXPECT_EQ(PresentedKey("bearer sk-1", "other"), "sk-1");
  EXPECT_EQ(PresentedKey("", "sk-2"), "sk-2");
  EXPECT_EQ(PresentedKey("Basic abc", ""), "");
  EXPECT_EQ(PresentedKey("Bearer ", ""), "");
}

TEST(BasicPassword, ThePasswordOfUserColonPassword) {
  // base64("admin:sk-ops") and base64(":sk-ops"): the user name is ignored.
  EXPECT_EQ(BasicPassword("Basic YWRtaW46c2stb3Bz"), "sk-ops");
  EXPECT_EQ(BasicPassword("basic OnNrLW9wcw=="), "sk-ops");
  EXPECT_EQ(BasicPassword("Basic YTpiOmM="), "b:c");   // "a:b:c": only the first ':' splits
  EXPECT_EQ(BasicPassword("Basic bm9jb2xvbg=="), "");  // "nocolon"
  EXPECT_EQ(BasicPassword("Basic !!!!"), "");          // not base64
  EXPECT_EQ(BasicPassword("Basic abc"), "");           // not a multiple of 4
  EXPECT_EQ(BasicPassword("Bearer YWRtaW46c2stb3Bz"), "");
  EXPECT_EQ(BasicPassword(""), "");
}

TEST(KeyRing, FindsByHashAndChecksAllowList) {
  KeyRing ring({{"a", Sha256Hex("key-a"), {"m1"}}, {"all", Sha256Hex("key-all"), {"*"}}});
  ASSERT_TRUE(ring.enabled());
  const ApiKey* a = ring.Find("key-a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "a");
  EXPECT_TRUE(KeyRing::Allows(a, "m1"));
  EXPECT_FALSE(KeyRing::Allows(a, "m2"));
  EXPECT_TRUE(KeyRing::Allows(ring.Find("key-all"), "anything"));
  EXPECT_EQ(ring.Find("key-b"), nullptr);
  EXPECT_EQ(ring.Find(""), nullptr);
  EXPECT_EQ(ring.Find(Sha256Hex("key-a")), nullptr);  // the hash is not the key
}

TEST(KeyRing, NoKeysLetsEveryoneIn) {
  KeyRing ring;
  EXPECT_FALSE(ring.enabled());
  EXPECT_TRUE(KeyRing::Allows(nullptr, "m1"));
}

TEST(ErrorBody, OpenAIShapeWithStringCode) {
  EXPECT_EQ(ErrorBody(ErrorKind::kModelNotFound, "no such model"),
            R"({"error":{"message":"no such model","type":"invalid_request_error",)"
            R"("param":null,"code":"model_not_found"}})");
  EXPECT_EQ(InfoFor(ErrorKind::kModelNotFound).status, 404);
  EXPECT_EQ(InfoFor(ErrorKind::kUnauthorized).status, 401);
  EXPECT_EQ(InfoFor(ErrorKind::kBodyTooLarge).status, 413);
  EXPECT_EQ(InfoFor(ErrorKind::kQueueFull).status, 429);
  EXPECT_GT(InfoFor(ErrorKind::kQueueFull).retry_after_s, 0);
  EXPECT_EQ(InfoFor(ErrorKind::kNoHealthyUpstream).status, 503);
  EXPECT_GT(InfoFor(ErrorKind::kNoHealthyUpstream).retry_after_s, 0);
  EXPECT_EQ(InfoFor(ErrorKind::kMissingModel).status, 400);
}

TEST(ErrorBody, EveryKindHasAStringCode) {
  for (int k = 0; k < static_cast<int>(ErrorKind::kCount); ++k) {
    const auto& info = InfoFor(static_cast<ErrorKind>(k));
    EXPECT_FALSE(info.code.empty());
    EXPECT_GE(info.status, 400);
  }
}

TEST(StreamErrorEvent, IsOneSseEvent) {
  std::string e = StreamErrorEvent("engine went away");
  EXPECT_TRUE(e.starts_with("data: {\"error\":{"));
  EXPECT_TRUE(e.ends_with("}\n\n"));
  EXPECT_NE(e.find("\"code\":\"upstream_disconnected\""), std::string::npos);
}

}  // namespace
}  // namespace carve::gateway
