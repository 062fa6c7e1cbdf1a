#include "gateway/tokens.h"

#include <gtest/gtest.h>

namespace carve::gateway {
namespace {

constexpr std::string_view kStream =
    "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n"
    "data: [DONE]\n\n";

TEST(TokenCounter, AWholeAnswerCountsItsUsage) {
  TokenCounter t;
  t.Feed(
      R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens": 345,"total_tokens":357}})");
  EXPECT_EQ(t.count(), 345u);
  EXPECT_EQ(TokenCounter::OfWholeAnswer(
                R"({"choices":[{"text":"data: {"}],"usage":{"completion_tokens":7}})"),
            7u);  // no events counted in an answer that is not a stream
  EXPECT_EQ(TokenCounter::OfWholeAnswer(R"({"error":{"message":"no"}})"), 0u);
}

TEST(TokenCounter, AStreamWithoutUsageCountsItsEvents) {
  TokenCounter t;
  t.Feed(kStream);
  EXPECT_EQ(t.count(), 3u);  // [DONE] is not a token
}

TEST(TokenCounter, EverySplitOfAStreamCountsTheSame) {
  const std::string with_usage =
      std::string(kStream.substr(0, kStream.size() - 14)) +
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1234567}}\n\n" +
      "data: [DONE]\n\n";
  for (const std::string& text : {std::string(kStream), with_usage}) {
    TokenCounter whole;
    whole.Feed(text);
    for (size_t a = 1; a < text.size(); ++a) {  // every two-way split
      TokenCounter t;
      t.Feed(std::string_view(text).substr(0, a));
      t.Feed(std::string_view(text).substr(a));
      ASSERT_EQ(t.count(), whole.count()) << "split at " << a;
    }
    TokenCounter bytes;  // one byte at a time
    for (char c : text) bytes.Feed(std::string_view(&c, 1));
    EXPECT_EQ(bytes.count(), whole.count());
  }
  TokenCounter t;
  t.Feed(with_usage);
  EXPECT_EQ(t.count(), 1234567u);
}

TEST(TokenCounter, NothingToCountIsZero) {
  TokenCounter t;
  t.Feed(R"({"data":[{"embedding":[0.1]}],"usage":{"prompt_tokens":3}})");
  EXPECT_EQ(t.count(), 0u);
  t.Feed("");
  EXPECT_EQ(t.count(), 0u);
}

}  // namespace
}  // namespace carve::gateway
