// Probes: a small synchronous HTTP/1.1 GET on 127.0.0.1 with one deadline for
// the whole exchange (connect, send, read). Engines are local children, so a
// probe never resolves names or leaves the host. Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "serve/engine.h"
#include "util/status.h"

namespace carve::serve {

struct HttpResponse {
  int status = 0;
  std::string body;
};

// kUnavailable when nothing listens, kTimeout past the deadline, kIo for a
// broken or malformed reply. Bodies above 1 MiB are an error.
Result<HttpResponse> HttpGet(int port, const std::string& path, std::chrono::milliseconds timeout);

// Runs every check against the engine on `port`: Ok, or why it failed
// ("GET /health: 503", "GET /v1/models: does not list \"m\"").
Status RunChecks(const std::vector<HttpCheck>& checks, int port, const std::string& model,
                 std::chrono::milliseconds timeout);

// True when an OpenAI `/v1/models` body lists `model` among its ids.
bool ModelsListIncludes(const std::string& body, const std::string& model);

}  // namespace carve::serve
