// Relaying an engine's answer to the client: whole (bounded answers) or as it
// arrives (streams), with hop-by-hop headers removed and the gateway's added.
#include "gateway/relay.h"

#include <array>

#include "gateway/tokens.h"
#include "gateway/wire.h"

namespace carve::gateway::net {

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

namespace {

constexpr size_t kRelayChunk = 16 << 10;

// Sends `data` to the client as one chunk of a chunked body (or as it is, when
// the body is not chunked: HTTP/1.0), within timeout_ms (slow-client protection).
Task<beast::error_code> WriteChunk(Conn& client, bool chunked, std::string_view data,
                                   int timeout_ms) {
  if (!chunked) {
    asio::const_buffer raw = asio::buffer(data);
    co_return co_await WriteAll(client, {&raw, 1}, timeout_ms);
  }
  char scratch[24];
  std::array<asio::const_buffer, 3> framed{asio::buffer(wire::ChunkSizeLine(data.size(), scratch)),
                                           asio::buffer(data), asio::buffer(wire::kChunkEnd)};
  co_return co_await WriteAll(client, framed, timeout_ms);
}

Task<beast::error_code> WriteLastChunk(Conn& client, int timeout_ms) {
  asio::const_buffer last = asio::buffer(wire::kLastChunk);
  co_return co_await WriteAll(client, {&last, 1}, timeout_ms);
}

// The head the client gets for `answer`: chunked, or with `length`, or neither
// (HTTP/1.0: the end is the close).
std::string ClientHead(const Exchange& x, const wire::EngineAnswer& answer, bool chunked,
                       std::optional<uint64_t> length) {
  std::string head;
  answer.AppendHead({.client_version = x.client_version,
                     .request_id = x.job.request_id,
                     .keep_alive = x.out.keep_alive,
                     .event_stream = answer.event_stream(),
                     .chunked = chunked,
                     .content_length = length},
                    head);
  return head;
}

// Ends a stream whose engine went away after the client got the first byte:
// an SSE error event, then a clean end of the chunked body.
Task<void> EndStreamWithError(Exchange& x, bool chunked, bool sse, const std::string& why) {
  x.out.error = "upstream_disconnected";
  if (!sse || !chunked) {
    x.out.keep_alive = false;  // nothing clean to say: cut the connection
    co_return;
  }
  const int write_ms = x.job.snap->config.timeouts.client_write_ms;
  std::string event = StreamErrorEvent(why);
  beast::error_code ec = co_await WriteChunk(x.client, true, event, write_ms);
  if (!ec) co_await WriteLastChunk(x.client, write_ms);
}

}  // namespace

Task<Attempt> RelayBuffered(Exchange& x, Replica& r, std::unique_ptr<Conn>& conn,
                            wire::EngineAnswer& answer) {
  const auto& cfg = x.job.snap->config;
  beast::error_code ec = co_await ReadMessage(*conn, answer, /*header_only=*/false);
  if (x.watch.client_gone) co_return Attempt::kClientGone;
  if (ec) {
    x.error = ErrorKind::kBadGateway;
    x.error_message = "the engine at " + r.backend().url + " broke off its answer: " + ec.message();
    x.job.pool->MarkDown(&r);
    co_return Attempt::kRetry;
  }
  conn->expires_never();
  // The engine's answer goes back as it came, less hop-by-hop fields.
  const std::string& body = answer.body();
  x.out.status = answer.status();
  x.out.bytes_out = body.size();
  if (answer.event_stream()) {  // a short stream, read whole
    TokenCounter tokens;
    tokens.Feed(body);
    x.out.tokens = tokens.count();
  } else {
    x.out.tokens = TokenCounter::OfWholeAnswer(body);
  }
  std::string res_head = ClientHead(x, answer, false, body.size());
  std::array<asio::const_buffer, 2> out{asio::buffer(res_head), asio::buffer(body)};
  beast::error_code wec = co_await WriteAll(x.client, out, cfg.timeouts.client_write_ms);
  if (wec || x.watch.client_gone) co_return Attempt::kClientGone;
  if (answer.keep_alive()) x.wk.upstreams.PutIdle(r.endpoint().host_header, std::move(conn));
  co_return Attempt::kDone;
}

Task<Attempt> RelayStream(Exchange& x, Replica& r, std::unique_ptr<Conn>& conn,
                          wire::EngineAnswer& answer) {
  const auto& cfg = x.job.snap->config;
  const bool sse = answer.event_stream();
  const bool chunked = x.client_version >= 11;
  if (!chunked) x.out.keep_alive = false;  // HTTP/1.0: the end is the close
  x.out.status = answer.status();
  x.out.stream = true;
  std::string res_head = ClientHead(x, answer, chunked, std::nullopt);
  // Deadlines: the engine's silence (upstream_idle_ms, per read: no total
  // timeout) and each write to the client (client_write_ms).
  const int write_ms = cfg.timeouts.client_write_ms;
  const auto silence = std::chrono::milliseconds(cfg.timeouts.upstream_idle_ms);
  asio::const_buffer head_buf = asio::buffer(res_head);
  beast::error_code hec = co_await WriteAll(x.client, {&head_buf, 1}, write_ms);
  if (hec) co_return Attempt::kClientGone;
  beast::flat_buffer& buf = conn->buffer();
  std::string& body = answer.body();  // what the parser took from each read
  TokenCounter tokens;
  for (;;) {
    if (!body.empty()) {
      tokens.Feed(body);
      x.out.tokens = tokens.count();
      if (x.out.first_byte_ms == 0) x.out.first_byte_ms = MsSince(x.job.start);
      beast::error_code wec = co_await WriteChunk(x.client, chunked, body, write_ms);
      if (wec) co_return Attempt::kClientGone;
      x.out.bytes_out += body.size();
      body.clear();
    }
    if (answer.is_done()) break;
    conn->expires_after(silence);
    auto [rec, n] = co_await conn->socket().async_read_some(buf.prepare(kRelayChunk), kTuple);
    buf.commit(n);
    if (x.watch.client_gone) co_return Attempt::kClientGone;
    beast::error_code ec = rec;
    if (rec == asio::error::eof)
      ec = wire::AtEof(answer);  // an answer may end at the close
    else if (!rec)
      ec = wire::Feed(answer, buf, /*header_only=*/false);
    if (ec == http::error::need_more) ec = {};
    if (ec) {
      const bool idle = conn->timed_out();
      if (!idle) x.job.pool->MarkDown(&r);  // it died; a slow engine stays in rotation
      std::string why =
          x.st.cutting ? "the gateway shut down (its drain of " +
                             std::to_string(cfg.timeouts.drain_ms) + " ms ran out) mid-stream"
          : idle
              ? "the engine at " + r.backend().url + " sent nothing for " +
                    std::to_string(cfg.timeouts.upstream_idle_ms) + " ms"
              : "the engine at " + r.backend().url + " went away mid-stream (" + ec.message() + ")";
      if (!body.empty()) {  // what arrived before the break still goes out
        beast::error_code wec = co_await WriteChunk(x.client, chunked, body, write_ms);
        if (wec) co_return Attempt::kClientGone;
        x.out.bytes_out += body.size();
      }
      co_await EndStreamWithError(x, chunked, sse, why);
      co_return Attempt::kDone;
    }
  }
  conn->expires_never();
  beast::error_code eec;
  if (chunked) eec = co_await WriteLastChunk(x.client, write_ms);
  if (answer.keep_alive() && !eec)
    x.wk.upstreams.PutIdle(r.endpoint().host_header, std::move(conn));
  co_return eec ? Attempt::kClientGone : Attempt::kDone;
}

}  // namespace carve::gateway::net
