#include "gateway/wire.h"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <string>
#include <vector>

namespace carve::gateway::wire {
namespace {

using RequestParser = http::request_parser<http::string_body>;
using ResponseParser = http::response_parser<http::string_body>;

void Put(beast::flat_buffer& buf, std::string_view bytes) {
  auto dst = buf.prepare(bytes.size());
  std::memcpy(dst.data(), bytes.data(), bytes.size());
  buf.commit(bytes.size());
}

// Parses `bytes` whole with Feed; fails the test unless it is one complete message.
template <class Parser>
auto ParseWhole(std::string_view bytes) {
  Parser p;
  p.eager(true);
  beast::flat_buffer buf;
  Put(buf, bytes);
  EXPECT_FALSE(Feed(p, buf, false)) << bytes;
  EXPECT_EQ(buf.size(), 0u);
  return p.release();
}

TEST(WireTest, ResponseHeadKeepsStatusReasonAndVersion) {
  http::response<http::string_body> res{http::status::too_many_requests, 10};
  res.set("Retry-After", "1");
  res.body() = "{}";
  res.prepare_payload();
  std::string wire;
  AppendHead(res.base(), wire);
  EXPECT_TRUE(wire.starts_with("HTTP/1.0 429 Too Many Requests\r\n")) << wire;
  // An engine's own reason phrase is relayed as it came.
  auto odd = ParseWhole<ResponseParser>("HTTP/1.1 200 Fine Thanks\r\nContent-Length: 2\r\n\r\nok");
  std::string relayed;
  AppendHead(odd.base(), relayed);
  EXPECT_EQ(relayed, "HTTP/1.1 200 Fine Thanks\r\nContent-Length: 2\r\n\r\n");
  // Appends: what is already in the string stays.
  std::string prefixed = "x";
  AppendHead(odd.base(), prefixed);
  EXPECT_EQ(prefixed, "x" + relayed);
}

// Parses a whole client request with ClientRequest.
void ParseClient(ClientRequest& req, std::string_view bytes) {
  req.eager(true);
  beast::flat_buffer buf;
  Put(buf, bytes);
  ASSERT_FALSE(Feed(req, buf, false)) << bytes;
}

// Parses a whole engine answer with EngineAnswer.
void ParseAnswer(EngineAnswer& answer, std::string_view bytes) {
  answer.eager(true);
  beast::flat_buffer buf;
  Put(buf, bytes);
  ASSERT_FALSE(Feed(answer, buf, false)) << bytes;
}

constexpr std::string_view kClientRequest =
    "POST /v1/chat/completions HTTP/1.0\r\nHost: gateway:8000\r\nConnection: keep-alive\r\n"
    "Authorization: Bearer sk-gw\r\nX-Api-Key: sk-gw\r\nX-Request-Id: from-client\r\n"
    "Forwarded: for=spoofed\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
    "X-Request-Id: second\r\nX-Custom: kept\r\n\r\n3\r\nabc\r\n0\r\n\r\n";

TEST(WireTest, ClientRequestKeepsWhatTheGatewayReads) {
  MessageText text;
  ClientRequest req(/*strip_keys=*/true, text);
  ParseClient(req, kClientRequest);
  EXPECT_EQ(req.method(), "POST");
  EXPECT_EQ(req.target(), "/v1/chat/completions");
  EXPECT_EQ(req.version(), 10u);
  EXPECT_EQ(req.authorization(), "Bearer sk-gw");
  EXPECT_EQ(req.x_api_key(), "sk-gw");
  EXPECT_EQ(req.content_type(), "application/json");
  EXPECT_EQ(req.request_id(), "from-client");  // the first of two, as Beast's lookup gives
  EXPECT_EQ(req.body(), "abc");
  EXPECT_TRUE(req.keep_alive());
}

TEST(WireTest, AConnectionsTextCarriesNothingOverToItsNextMessage) {
  MessageText text;
  {
    ClientRequest first(/*strip_keys=*/false, text);
    ParseClient(first, kClientRequest);
  }
  ClientRequest second(/*strip_keys=*/false, text);
  ParseClient(second, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(second.target(), "/health");
  EXPECT_EQ(second.authorization(), "");
  EXPECT_EQ(second.request_id(), "");
  EXPECT_EQ(second.content_type(), "");
  EXPECT_EQ(second.forwarded_fields(), "");
  EXPECT_EQ(second.body(), "");
  EngineAnswer answer(text);  // the same strings serve an answer as well
  ParseAnswer(answer, "HTTP/1.1 204 No Content\r\n\r\n");
  std::string head;
  answer.AppendHead({.client_version = 11,
                     .request_id = "i",
                     .keep_alive = true,
                     .event_stream = false,
                     .chunked = false,
                     .content_length = 0},
                    head);
  EXPECT_EQ(head, "HTTP/1.1 204 No Content\r\nX-Request-Id: i\r\nContent-Length: 0\r\n\r\n");
}

TEST(WireTest, UpstreamHeadDropsHopByHopAndReplacesTheGatewaysOwnFields) {
  MessageText text;
  ClientRequest req(/*strip_keys=*/true, text);
  ParseClient(req, kClientRequest);
  std::string head;
  AppendUpstreamHead(req,
                     {.host = "127.0.0.1:9001",
                      .request_id = "gw-1",
                      .client_ip = "10.0.0.7",
                      .content_length = req.body().size()},
                     head);
  EXPECT_EQ(head,
            "POST /v1/chat/completions HTTP/1.1\r\nContent-Type: application/json\r\n"
            "X-Custom: kept\r\nHost: 127.0.0.1:9001\r\nX-Request-Id: gw-1\r\n"
            "Forwarded: for=\"10.0.0.7\"\r\nContent-Length: 3\r\n\r\n");
  MessageText back_text;
  ClientRequest back(false, back_text);
  ParseClient(back, head + req.body());
  EXPECT_EQ(back.body(), "abc");
  // Without gateway keys, the client's credentials are the engine's business.
  MessageText keep_text;
  ClientRequest keep_keys(/*strip_keys=*/false, keep_text);
  ParseClient(keep_keys, kClientRequest);
  std::string with_keys;
  AppendUpstreamHead(keep_keys,
                     {.host = "h", .request_id = "i", .client_ip = "c", .content_length = 3},
                     with_keys);
  EXPECT_NE(with_keys.find("Authorization: Bearer sk-gw\r\n"), std::string::npos);
  EXPECT_NE(with_keys.find("X-Api-Key: sk-gw\r\n"), std::string::npos);
}

TEST(WireTest, RelayedHeadFramesForTheClient) {
  MessageText text;
  EngineAnswer engine(text);
  ParseAnswer(engine,
              "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: max-age=9\r\n"
              "Connection: keep-alive\r\nX-Request-Id: engine-id\r\nX-Engine: vllm\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  std::string sse;
  engine.AppendHead({.client_version = 11,
                     .request_id = "gw-2",
                     .keep_alive = true,
                     .event_stream = true,
                     .chunked = true,
                     .content_length = std::nullopt},
                    sse);
  EXPECT_EQ(sse,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Engine: vllm\r\n"
            "X-Request-Id: gw-2\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
  // A buffered answer to an HTTP/1.1 client that is leaving, and to an HTTP/1.0 one that stays.
  std::string closing;
  engine.AppendHead({.client_version = 11,
                     .request_id = "r",
                     .keep_alive = false,
                     .event_stream = false,
                     .chunked = false,
                     .content_length = 5},
                    closing);
  EXPECT_NE(closing.find("Cache-Control: max-age=9\r\n"), std::string::npos);
  EXPECT_TRUE(closing.ends_with("Content-Length: 5\r\nConnection: close\r\n\r\n")) << closing;
  std::string old;
  engine.AppendHead({.client_version = 10,
                     .request_id = "r",
                     .keep_alive = true,
                     .event_stream = false,
                     .chunked = false,
                     .content_length = 5},
                    old);
  EXPECT_TRUE(old.starts_with("HTTP/1.0 200 OK\r\n")) << old;
  EXPECT_TRUE(old.ends_with("Content-Length: 5\r\nConnection: keep-alive\r\n\r\n")) << old;
  auto back = ParseWhole<ResponseParser>(old + "hello");
  EXPECT_EQ(back.body(), "hello");
  EXPECT_TRUE(back.keep_alive());
}

TEST(WireTest, ChunkSizeLineIsLowercaseHex) {
  char scratch[24];
  EXPECT_EQ(ChunkSizeLine(1, scratch), "1\r\n");
  EXPECT_EQ(ChunkSizeLine(255, scratch), "ff\r\n");
  EXPECT_EQ(ChunkSizeLine(0x10000, scratch), "10000\r\n");
  EXPECT_EQ(ChunkSizeLine(SIZE_MAX, scratch), "ffffffffffffffff\r\n");
}

TEST(WireTest, ChunkFramingParsesBackToTheRelayedBytes) {
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  char scratch[24];
  for (std::string_view part : {"data: a\n\n", "data: [DONE]\n\n"}) {
    wire += ChunkSizeLine(part.size(), scratch);
    wire += part;
    wire += kChunkEnd;
  }
  wire += kLastChunk;
  EXPECT_EQ(ParseWhole<ResponseParser>(wire).body(), "data: a\n\ndata: [DONE]\n\n");
}

TEST(WireTest, FeedByteByByteEqualsFeedWhole) {
  const std::string msg =
      "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n{\"mod\r\n9\r\nel\":\"m1\"}\r\n0\r\n\r\n";
  RequestParser p;
  p.eager(true);
  beast::flat_buffer buf;
  beast::error_code ec;
  for (size_t i = 0; i < msg.size(); ++i) {
    Put(buf, msg.substr(i, 1));
    ec = Feed(p, buf, false);
    if (i + 1 < msg.size()) {
      ASSERT_EQ(ec, http::error::need_more) << "at byte " << i;
    }
  }
  EXPECT_FALSE(ec);
  EXPECT_EQ(p.get().body(), R"({"model":"m1"})");
}

TEST(WireTest, HeaderOnlyStopsAtTheHeaderAndLeavesThePipelinedRest) {
  const std::string first = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  const std::string second = "GET /health HTTP/1.1\r\n\r\n";
  beast::flat_buffer buf;
  Put(buf, first + second);
  RequestParser p;
  EXPECT_FALSE(Feed(p, buf, true));
  EXPECT_TRUE(p.is_header_done());
  EXPECT_FALSE(p.is_done());
  EXPECT_EQ(buf.size(), 3 + second.size());  // the body is still buffered
  p.eager(true);
  EXPECT_FALSE(Feed(p, buf, false));
  EXPECT_EQ(p.get().body(), "abc");
  EXPECT_EQ(buf.size(), second.size());  // the next request waits for its own parser
  RequestParser next;
  EXPECT_FALSE(Feed(next, buf, false));
  EXPECT_EQ(next.get().target(), "/health");
}

TEST(WireTest, HeaderOnlyWithAnEagerParserIsDoneWhenTheBodyAfterItIsCut) {
  // An engine that sent its head and half of its first chunk: the head is all
  // the relay waits for (the rest may come seconds later).
  MessageText text;
  EngineAnswer answer(text);
  answer.eager(true);
  beast::flat_buffer buf;
  Put(buf,
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
      "Transfer-Encoding: chunked\r\n\r\n12\r\ndata: {\"half");
  EXPECT_FALSE(Feed(answer, buf, true));
  EXPECT_TRUE(answer.is_header_done());
  EXPECT_TRUE(answer.event_stream());
  EXPECT_EQ(Feed(answer, buf, false), http::error::need_more);
  Put(buf, "\":1}\n\n\r\n0\r\n\r\n");
  EXPECT_FALSE(Feed(answer, buf, false));
  EXPECT_EQ(answer.body(), "data: {\"half\":1}\n\n");
}

TEST(WireTest, EngineAnswerRelaysTheHeadLessHopByHop) {
  MessageText text;
  EngineAnswer answer(text);
  answer.eager(true);
  beast::flat_buffer buf;
  Put(buf,
      "HTTP/1.1 201 Made\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
      "Cache-Control: max-age=9\r\nX-Request-Id: engine\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_FALSE(Feed(answer, buf, false));
  EXPECT_EQ(answer.status(), 201);
  EXPECT_FALSE(answer.event_stream());
  EXPECT_TRUE(answer.keep_alive());
  std::string head;
  answer.AppendHead({.client_version = 11,
                     .request_id = "gw-3",
                     .keep_alive = true,
                     .event_stream = false,
                     .chunked = false,
                     .content_length = 2},
                    head);
  EXPECT_EQ(head,
            "HTTP/1.1 201 Made\r\nContent-Type: application/json\r\nCache-Control: max-age=9\r\n"
            "X-Request-Id: gw-3\r\nContent-Length: 2\r\n\r\n");
  std::string sse;
  answer.AppendHead({.client_version = 11,
                     .request_id = "gw-3",
                     .keep_alive = true,
                     .event_stream = true,
                     .chunked = true,
                     .content_length = std::nullopt},
                    sse);
  EXPECT_EQ(sse.find("max-age"), std::string::npos) << sse;  // replaced by no-cache
  EXPECT_NE(sse.find("Cache-Control: no-cache\r\n"), std::string::npos) << sse;
}

// Issue #12.1: an Expect field reached the engine, whose interim 100 was then
// relayed as the final answer and desynchronised the pooled connection.
TEST(WireTest, ExpectNeverReachesTheEngine) {
  MessageText text;
  ClientRequest req(/*strip_keys=*/false, text);
  ParseClient(req,
              "POST /v1/completions HTTP/1.1\r\nHost: g\r\nExpect: 100-continue\r\n"
              "Content-Length: 2\r\n\r\n{}");
  EXPECT_EQ(req.expect(), "100-continue");  // the gateway still sees it
  std::string head;
  AppendUpstreamHead(req, {.host = "h", .request_id = "i", .client_ip = "c", .content_length = 2},
                     head);
  EXPECT_EQ(head.find("Expect"), std::string::npos) << head;
}

TEST(WireTest, InterimAnswersAreMessagesOfTheirOwn) {
  MessageText text;
  beast::flat_buffer buf;
  Put(buf,
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  std::vector<int> statuses;
  for (;;) {
    EngineAnswer answer(text);
    answer.eager(true);
    ASSERT_FALSE(Feed(answer, buf, /*header_only=*/true));
    statuses.push_back(answer.status());
    if (!answer.interim()) {
      ASSERT_FALSE(Feed(answer, buf, false));
      EXPECT_EQ(answer.body(), "ok");
      break;
    }
    EXPECT_TRUE(answer.is_done());  // no body: the next bytes are the next message
  }
  EXPECT_EQ(statuses, (std::vector<int>{100, 103, 200}));
  EXPECT_EQ(buf.size(), 0u);
}

// Issue #12.8: trailer fields were merged into the head: an Authorization
// there authenticated, others reached the engine as headers.
TEST(WireTest, TrailerFieldsNeitherAuthenticateNorReachTheEngine) {
  MessageText text;
  ClientRequest req(/*strip_keys=*/true, text);
  ParseClient(req,
              "POST /v1/completions HTTP/1.1\r\nHost: g\r\nTransfer-Encoding: chunked\r\n"
              "Trailer: Authorization, X-Sneaky\r\n\r\n2\r\n{}\r\n0\r\n"
              "Authorization: Bearer stolen\r\nX-Sneaky: 1\r\n\r\n");
  EXPECT_EQ(req.authorization(), "");
  EXPECT_EQ(req.body(), "{}");
  EXPECT_EQ(req.forwarded_fields(), "") << req.forwarded_fields();
  MessageText answer_text;
  EngineAnswer answer(answer_text);
  ParseAnswer(answer,
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n"
              "Set-Cookie: late=1\r\n\r\n");
  std::string head;
  answer.AppendHead({.request_id = "i", .content_length = 2}, head);
  EXPECT_EQ(head.find("Set-Cookie"), std::string::npos) << head;
}

// Issue #12.12: fields a Connection field names, Proxy-Authorization, and an
// engine's own X-Carve-Gateway-Error were relayed.
TEST(WireTest, ConnectionNamedAndProxyFieldsStayOnTheirHop) {
  MessageText text;
  ClientRequest req(/*strip_keys=*/false, text);
  ParseClient(req,
              "POST /v1/completions HTTP/1.1\r\nHost: g\r\nX-Hop: 1\r\nX-Kept: 2\r\n"
              "Proxy-Authorization: Basic eA==\r\nConnection: X-Hop, keep-alive\r\n"
              "x-other-hop: 3\r\nConnection: x-OTHER-hop\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(req.forwarded_fields(), "X-Kept: 2\r\n");
  MessageText answer_text;
  EngineAnswer answer(answer_text);
  ParseAnswer(answer,
              "HTTP/1.1 200 OK\r\nX-Carve-Gateway-Error: 1\r\nX-Secret: s\r\nConnection: x-secret"
              "\r\nProxy-Authenticate: Basic\r\nX-Engine: e\r\nContent-Length: 0\r\n\r\n");
  std::string head;
  answer.AppendHead({.request_id = "i", .content_length = 0}, head);
  EXPECT_EQ(head, "HTTP/1.1 200 OK\r\nX-Engine: e\r\nX-Request-Id: i\r\nContent-Length: 0\r\n\r\n");
}

// Issue #12.13: absolute-form targets (RFC 9112 3.2.2) are served as their path.
TEST(WireTest, AbsoluteFormTargetsBecomeOriginForm) {
  for (auto [target, want] : std::vector<std::pair<std::string, std::string>>{
           {"http://gw:8000/v1/models", "/v1/models"},
           {"HTTPS://gw/v1/models?x=1", "/v1/models?x=1"},
           {"http://gw:8000", "/"},
           {"http://gw?x", "/?x"},
           {"/plain", "/plain"}}) {
    MessageText text;
    ClientRequest req(false, text);
    ParseClient(req, "GET " + target + " HTTP/1.1\r\nHost: gw\r\n\r\n");
    EXPECT_EQ(req.target(), want) << target;
  }
}

TEST(WireTest, HostFieldsAreCounted) {
  for (auto [head, hosts] : std::vector<std::pair<std::string, int>>{
           {"GET / HTTP/1.1\r\n\r\n", 0},
           {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1},
           {"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 2}}) {
    MessageText text;
    ClientRequest req(false, text);
    ParseClient(req, head);
    EXPECT_EQ(req.host_fields(), hosts) << head;
  }
}

// Issue #12.20: Beast bounds each scan for the end of the head, not the head,
// so many small fields arriving in pieces passed the limit.
TEST(WireTest, TheHeadLimitHoldsWhenFieldsArriveInPieces) {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 200; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
  head += "\r\n";
  for (uint32_t limit : {512u, 1024u}) {
    MessageText text;
    ClientRequest req(false, text);
    req.limit_head(limit);
    beast::flat_buffer buf;
    beast::error_code ec;
    for (size_t at = 0; at < head.size() && ec != http::error::header_limit; at += 100) {
      Put(buf, head.substr(at, 100));
      ec = Feed(req, buf, true);
    }
    EXPECT_EQ(ec, http::error::header_limit) << limit;
  }
  MessageText text;  // and a head within the limit passes
  ClientRequest fits(false, text);
  fits.limit_head(static_cast<uint32_t>(head.size()));
  beast::flat_buffer buf;
  Put(buf, head);
  EXPECT_FALSE(Feed(fits, buf, true));
}

TEST(WireTest, BodiesTakeTheirBytesFromTheBudgetAndGiveThemBack) {
  BodyBudget budget(10);
  MessageText t1, t2;
  {
    ClientRequest first(false, t1);
    first.charge_body_to(&budget);
    ParseClient(first, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n12345678");
    EXPECT_EQ(budget.used(), 8u);
    ClientRequest second(false, t2);
    second.charge_body_to(&budget);
    second.eager(true);
    beast::flat_buffer buf;
    Put(buf, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n12345678");
    EXPECT_EQ(Feed(second, buf, false), kBodyBudgetExceeded);
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(WireTest, FeedReportsTheParsersLimits) {
  RequestParser big_header;
  big_header.header_limit(64);
  beast::flat_buffer buf;
  Put(buf, "GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a'));
  EXPECT_EQ(Feed(big_header, buf, true), http::error::header_limit);

  RequestParser big_body;
  big_body.body_limit(10);
  beast::flat_buffer buf2;
  Put(buf2, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
  EXPECT_EQ(Feed(big_body, buf2, true), http::error::body_limit);  // known from the header

  RequestParser bad;
  beast::flat_buffer buf3;
  Put(buf3, "POST / HTTP/1.1\r\nBad Header\r\n\r\n");
  auto ec = Feed(bad, buf3, true);
  EXPECT_TRUE(ec && ec != http::error::need_more) << ec.message();
}

TEST(WireTest, AtEofTellsACompleteAnswerFromACutOne) {
  // A response without a length ends at EOF: complete.
  ResponseParser until_close;
  until_close.eager(true);
  beast::flat_buffer buf;
  Put(buf, "HTTP/1.1 200 OK\r\n\r\nall of it");
  EXPECT_EQ(Feed(until_close, buf, false), http::error::need_more);
  EXPECT_FALSE(AtEof(until_close));
  EXPECT_EQ(until_close.get().body(), "all of it");
  // Nothing at all: the peer closed an idle connection.
  ResponseParser nothing;
  EXPECT_EQ(AtEof(nothing), http::error::end_of_stream);
  // A cut body with a known length.
  ResponseParser cut;
  cut.eager(true);
  beast::flat_buffer buf2;
  Put(buf2, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_EQ(Feed(cut, buf2, false), http::error::need_more);
  EXPECT_EQ(AtEof(cut), http::error::partial_message);
}

}  // namespace
}  // namespace carve::gateway::wire
