// The gateway's own answers (reply.h): a head and a body in one write.
#include "gateway/reply.h"

#include <array>

#include "gateway/wire.h"

namespace carve::gateway::net {

Task<bool> WriteText(Conn& client, unsigned version, bool keep_alive, int status,
                     std::string_view content_type, std::string body, const std::string& request_id,
                     int write_timeout_ms,
                     const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  http::response<http::empty_body> res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, content_type);
  res.set("X-Request-Id", request_id);
  for (const auto& [name, value] : extra_headers) res.set(name, value);
  res.keep_alive(keep_alive);
  res.content_length(body.size());
  std::string head;
  wire::AppendHead(res.base(), head);
  std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(body)};
  co_return !co_await WriteAll(client, out, write_timeout_ms);
}

Task<bool> WriteError(Conn& client, unsigned version, bool keep_alive, ErrorKind kind,
                      std::string_view message, const std::string& request_id, int write_timeout_ms,
                      uint64_t* bytes_out) {
  const ErrorInfo& info = InfoFor(kind);
  std::vector<std::pair<std::string, std::string>> extra = {{std::string(kOriginHeader), "1"}};
  if (info.retry_after_s) extra.emplace_back("Retry-After", std::to_string(info.retry_after_s));
  if (kind == ErrorKind::kUnauthorized) extra.emplace_back("WWW-Authenticate", "Bearer");
  // A browser asks for the key (as the password) and sends it on every
  // request to the dashboard, its event stream too.
  if (kind == ErrorKind::kDashboardUnauthorized)
    extra.emplace_back("WWW-Authenticate", R"(Basic realm="carve dashboard", charset="UTF-8")");
  std::string body = ErrorBody(kind, message);
  if (bytes_out) *bytes_out = body.size();
  co_return co_await WriteText(client, version, keep_alive, info.status, "application/json",
                               std::move(body), request_id, write_timeout_ms, extra);
}

}  // namespace carve::gateway::net
