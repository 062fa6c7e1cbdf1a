// The errors the gateway itself originates, and their OpenAI-shaped bodies.
//
// Every such response carries the OpenAI error shape with a *string* `code`
// (clients switch on it) and the header `x-carve-gateway-error: 1`, so a person
// reading a failure can tell the gateway's refusal from the engine's. Errors that
// come from an engine are never rewritten; they pass through verbatim.
#pragma once

#include <string>
#include <string_view>

namespace carve::gateway {

// The header that marks a response as originated by the gateway.
inline constexpr std::string_view kOriginHeader = "x-carve-gateway-error";

enum class ErrorKind {
  kInvalidJson,        // 400: body is not JSON (or not a form) where a model is needed
  kMissingModel,       // 400: no "model", or an empty one: never routed anywhere
  kUnauthorized,       // 401: keys are configured and the request has no valid one
  kModelNotFound,      // 404: unknown model, or one the key may not use
  kRouteNotFound,      // 404: no such route
  kMethodNotAllowed,   // 405
  kBodyTooLarge,       // 413
  kHeaderTooLarge,     // 431
  kQueueFull,          // 429 + Retry-After: the model's queue is full
  kQueueTimeout,       // 503 + Retry-After: waited in the queue too long
  kNoHealthyUpstream,  // 503 + Retry-After: every replica is down
  kDraining,           // 503 + Retry-After: the gateway is shutting down
  kBadGateway,         // 502: the engine broke the connection or the protocol
  kUpstreamTimeout,    // 504: the engine did not connect or answer in time
  kBadRequest,         // 400: not a well-formed HTTP/1.x request (RFC 9112)
  kOverloaded,  // 503 + Retry-After: request bodies in flight hold the gateway's memory budget
  kDashboardUnauthorized,  // 401 + WWW-Authenticate: Basic: the dashboard needs an admin key
  kForbidden,              // 403: a valid key that is not an admin key, on the dashboard
  kModelLoadFailed,        // 503 + Retry-After: carve up could not load an on-demand model
  kLoadQueueFull,          // 503 + Retry-After: too many wait for an on-demand model to load
  kCount,
};

struct ErrorInfo {
  int status;
  std::string_view type;  // OpenAI "type"
  std::string_view code;  // OpenAI "code" (a string, unlike vLLM's integer)
  int retry_after_s;      // 0: no Retry-After header
};

const ErrorInfo& InfoFor(ErrorKind kind);

// `s` cut to at most `max` bytes (at a UTF-8 character boundary) with "…"
// after it: what the gateway echoes of a client's strings (a model name, a
// path) in answers and logs, so a 1 MB name is not a 1 MB answer.
std::string Clip(std::string_view s, size_t max = 200);

// {"error":{"message":…,"type":…,"param":null|…,"code":…}} for `kind`.
std::string ErrorBody(ErrorKind kind, std::string_view message, std::string_view param = {});

// The SSE event that ends a stream whose engine went away after the first byte
// reached the client (the HTTP status can no longer change).
std::string StreamErrorEvent(std::string_view message);

}  // namespace carve::gateway
