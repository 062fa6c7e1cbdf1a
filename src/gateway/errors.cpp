#include "gateway/errors.h"

#include <boost/json.hpp>

namespace carve::gateway {
namespace {

constexpr ErrorInfo kInfos[] = {
    {400, "invalid_request_error", "invalid_json", 0},
    {400, "invalid_request_error", "model_required", 0},
    {401, "invalid_request_error", "invalid_api_key", 0},
    {404, "invalid_request_error", "model_not_found", 0},
    {404, "invalid_request_error", "route_not_found", 0},
    {405, "invalid_request_error", "method_not_allowed", 0},
    {413, "invalid_request_error", "request_too_large", 0},
    {431, "invalid_request_error", "headers_too_large", 0},
    {429, "rate_limit_error", "queue_full", 1},
    {503, "server_error", "queue_timeout", 1},
    {503, "server_error", "upstream_unavailable", 2},
    {503, "server_error", "gateway_draining", 1},
    {502, "server_error", "bad_upstream_response", 0},
    {504, "server_error", "upstream_timeout", 0},
    {400, "invalid_request_error", "bad_request", 0},
    {503, "server_error", "gateway_overloaded", 1},
    {401, "invalid_request_error", "invalid_api_key", 0},
    {403, "invalid_request_error", "admin_key_required", 0},
    {503, "server_error", "model_load_failed", 5},
    {503, "server_error", "load_queue_full", 5},
};
static_assert(std::size(kInfos) == static_cast<size_t>(ErrorKind::kCount));

boost::json::object ErrorObject(std::string_view type, std::string_view code,
                                std::string_view message, std::string_view param) {
  boost::json::object e;
  e["message"] = message;
  e["type"] = type;
  if (param.empty()) {
    e["param"] = nullptr;
  } else {
    e["param"] = param;
  }
  e["code"] = code;
  return e;
}

}  // namespace

std::string Clip(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "…";
}

const ErrorInfo& InfoFor(ErrorKind kind) { return kInfos[static_cast<size_t>(kind)]; }

std::string ErrorBody(ErrorKind kind, std::string_view message, std::string_view param) {
  const ErrorInfo& info = InfoFor(kind);
  boost::json::object root;
  root["error"] = ErrorObject(info.type, info.code, message, param);
  return boost::json::serialize(root);
}

std::string StreamErrorEvent(std::string_view message) {
  boost::json::object root;
  root["error"] = ErrorObject("server_error", "upstream_disconnected", message, {});
  return "data: " + boost::json::serialize(root) + "\n\n";
}

}  // namespace carve::gateway
