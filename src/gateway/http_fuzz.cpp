// libFuzzer target: an HTTP request as the gateway reads it (Beast's parser
// with the gateway's header and body limits), then the gateway's own handling
// of what was parsed: route, key, model. Built only when clang is available.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>

#include "gateway/request.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 << 10);
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && parser.need_eof()) parser.put_eof(ec);
  if (ec || !parser.is_done() || used > size) return 0;
  const auto& req = parser.get();
  auto route = carve::gateway::MatchRoute(req.method_string(), req.target());
  if (route.route == carve::gateway::Route::kModelAddressed) {
    auto m = carve::gateway::ExtractModel(req[http::field::content_type], req.body());
    if (m.ok() && m.model.empty()) __builtin_trap();
  }
  return 0;
}
