// libFuzzer target: an HTTP request as the gateway reads it (wire::Feed into
// Beast's parser, with the gateway's header and body limits), then the
// gateway's own handling of what was parsed: route, key, model. And the
// gateway's own writing: the head wire::AppendHead makes of the parsed request
// must parse back to the same request line, fields and body, and the request
// wire::AppendUpstreamHead makes for an engine must parse with one Host, the
// gateway's request id, no credentials and the same body.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gateway/request.h"
#include "gateway/wire.h"

namespace http = boost::beast::http;
namespace wire = carve::gateway::wire;

namespace {

bool Parse(const char* data, size_t size, http::request_parser<http::string_body>& parser) {
  parser.header_limit(16 << 10);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::flat_buffer buf;
  auto dst = buf.prepare(size);
  if (size) std::memcpy(dst.data(), data, size);
  buf.commit(size);
  auto ec = wire::Feed(parser, buf, false);
  if (ec == http::error::need_more) ec = wire::AtEof(parser);
  return !ec && parser.is_done();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  if (!Parse(reinterpret_cast<const char*>(data), size, parser)) return 0;
  const auto& req = parser.get();
  auto route = carve::gateway::MatchRoute(req.method_string(), req.target());
  if (route.route == carve::gateway::Route::kModelAddressed) {
    auto m = carve::gateway::ExtractModel(req[http::field::content_type], req.body());
    if (m.ok() && m.model.empty()) __builtin_trap();
  }
  // Round trip: what the gateway would write parses back to the same request.
  http::request<http::string_body> out = req;
  out.erase(http::field::transfer_encoding);  // as the gateway forwards: a length, never chunks
  out.content_length(out.body().size());
  std::string bytes;
  wire::AppendHead(out.base(), bytes);
  bytes += out.body();
  http::request_parser<http::string_body> again;
  if (!Parse(bytes.data(), bytes.size(), again)) __builtin_trap();
  const auto& back = again.get();
  if (back.method_string() != out.method_string() || back.target() != out.target() ||
      back.version() != out.version() || back.body() != out.body())
    __builtin_trap();
  auto a = out.begin(), b = back.begin();
  for (; a != out.end() && b != back.end(); ++a, ++b)
    if (a->name_string() != b->name_string() || a->value() != b->value()) __builtin_trap();
  if (a != out.end() || b != back.end()) __builtin_trap();
  // What an engine gets: one Host, our id, the body and its length, nothing hop-by-hop.
  std::string up;
  wire::AppendUpstreamHead(req.base(),
                           {.host = "127.0.0.1:9", .request_id = "gw-1", .client_ip = "::1",
                            .strip_keys = true, .content_length = req.body().size()},
                           up);
  up += req.body();
  http::request_parser<http::string_body> engine;
  if (!Parse(up.data(), up.size(), engine)) __builtin_trap();
  const auto& got = engine.get();
  if (got.count(http::field::host) != 1 || got[http::field::host] != "127.0.0.1:9" ||
      got.count("X-Request-Id") != 1 || got.count(http::field::authorization) != 0 ||
      got.body() != req.body() || got.target() != req.target() || got.chunked())
    __builtin_trap();
  return 0;
}
