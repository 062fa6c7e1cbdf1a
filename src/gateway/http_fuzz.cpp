// libFuzzer target: an HTTP request as the gateway reads it (wire::Feed into
// Beast's parser through wire::ClientRequest, with the gateway's header and
// body limits), then the gateway's own handling of what was parsed: route,
// key, model. And the gateway's own writing: the request
// wire::AppendUpstreamHead makes for an engine must parse back to the same
// request line, body and fields, with the gateway's own and no credentials.
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

// Parses `data` whole, with the gateway's limits.
bool Parse(const char* data, size_t size, wire::ClientRequest& parser) {
  parser.limit_head(16 << 10);
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
  wire::MessageText text;
  wire::ClientRequest req(/*strip_keys=*/true, text);
  if (!Parse(reinterpret_cast<const char*>(data), size, req)) return 0;
  auto route = carve::gateway::MatchRoute(req.method(), req.target());
  if (route.route == carve::gateway::Route::kModelAddressed) {
    auto m = carve::gateway::ExtractModel(req.content_type(), req.body());
    if (m.ok() && m.model.empty()) __builtin_trap();
  }
  // What an engine gets parses back: same request line and body, one Host, the
  // gateway's request id, no credentials, nothing hop-by-hop, the same
  // forwarded fields.
  std::string up;
  wire::AppendUpstreamHead(req,
                           {.host = "127.0.0.1:9",
                            .request_id = "gw-1",
                            .client_ip = "::1",
                            .content_length = req.body().size()},
                           up);
  up += req.body();
  wire::MessageText engine_text;
  wire::ClientRequest engine(/*strip_keys=*/false, engine_text);
  if (!Parse(up.data(), up.size(), engine)) __builtin_trap();
  if (engine.method() != req.method() || engine.target() != req.target() ||
      engine.body() != req.body() || engine.request_id() != "gw-1" ||
      !engine.authorization().empty() || !engine.x_api_key().empty() ||
      engine.content_type() != req.content_type())
    __builtin_trap();
  // Read back the same way, the engine's request forwards exactly the client's
  // fields (the gateway's own four are ones a reader does not forward).
  if (engine.forwarded_fields() != req.forwarded_fields()) __builtin_trap();
  return 0;
}
