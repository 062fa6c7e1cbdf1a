// What the gateway does with one request, decided without sockets: answer it
// itself (health, readiness, metrics, models, or an error) or proxy it to a
// replica of the model it names. The session (server.cpp) does the I/O around
// this pure decision, as in the Beast examples.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/errors.h"
#include "gateway/keys.h"
#include "gateway/router.h"

namespace carve::gateway {

// The parts of a request the decision reads.
struct RequestView {
  std::string_view method;
  std::string_view target;
  std::string_view authorization;
  std::string_view x_api_key;
  std::string_view content_type;
  std::string_view body;
};

// The parts of the gateway the decision reads.
struct GatewayView {
  const Router& router;
  const KeyRing& keys;
  bool probed = false;  // the first round of health probes is done
  bool draining = false;
  int64_t created = 0;                   // "created" of model cards the gateway makes up
  std::function<std::string()> metrics;  // the /metrics text
};

struct Decision {
  bool proxy = false;  // forward to a replica of `model`
  int status = 200;    // when answering
  std::string content_type = "application/json";
  std::string body;  // the answer, or the error's message
  std::optional<ErrorKind> error;
  std::string model;            // the model named, once known
  const ApiKey* key = nullptr;  // the caller's key (null when keys are off)
};

Decision Decide(const GatewayView& g, const RequestView& r);

// What can be decided from the head alone, before any body byte is read: a
// refusal (unknown route, wrong method, a missing or invalid key, draining),
// or nullopt when the request may go on. Its body is ignored. A refusal
// here costs the gateway no memory for the body it never reads.
std::optional<Decision> DecideFromHead(const GatewayView& g, const RequestView& r);

}  // namespace carve::gateway
