// What a request asks for, decided without sockets: which route, which model.
//
// These are pure functions of the request line, headers and body, so the unit
// tests and the fuzzers reach every branch without a server. The session calls
// them and does the I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/errors.h"

namespace carve::gateway {

enum class Route {
  kModelAddressed,  // POST whose "model" picks the replica (chat, completions, audio …)
  kListModels,      // GET /v1/models
  kGetModel,        // GET /v1/models/{id}
  kHealth,          // GET /health: the gateway process is alive
  kReady,           // GET /ready: every model has a healthy replica
  kMetrics,         // GET /metrics
  kUiFile,          // GET /ui, /ui/FILE: the dashboard's page (admin key)
  kUiState,         // GET /ui/state: what carve up serves, as JSON (admin key)
  kUiEvents,        // GET /ui/events: the same each second, as server-sent events
  kWrongMethod,     // a known path with the wrong method
  kUnknown,
};

// Whether `target`'s path holds a dot-segment ("." or "..", also
// percent-encoded as %2e): such a path could name another route after the
// allow-list passed it (/v1/../admin), so the gateway refuses it (400)
// rather than guess how an engine would resolve it.
bool HasDotSegment(std::string_view target);

struct RouteMatch {
  Route route = Route::kUnknown;
  std::string model_id;      // kGetModel: the id, percent-decoded (ids may hold '/')
  std::string ui_file = {};  // kUiFile: "index.html" for /ui and /ui/, else the name after /ui/
};

// Matches "METHOD target"; the query string is ignored.
RouteMatch MatchRoute(std::string_view method, std::string_view target);

// The model a request names, or why it cannot be routed.
struct ModelOrError {
  std::string model;               // non-empty when ok()
  std::optional<ErrorKind> error;  // kInvalidJson or kMissingModel
  std::string message;             // for the person: what was wrong
  bool ok() const { return !error; }
};

// Reads "model" from a JSON object body (top level only), or from the form
// field "model" of a multipart/form-data body (audio transcription and
// translation). A missing, empty or non-string model is kMissingModel.
ModelOrError ExtractModel(std::string_view content_type, std::string_view body);

// The value of the form field `name` in a multipart body, or nullopt.
std::optional<std::string_view> MultipartField(std::string_view body, std::string_view boundary,
                                               std::string_view name);

// The boundary parameter of a multipart Content-Type, unquoted; empty if none.
std::string_view MultipartBoundary(std::string_view content_type);

}  // namespace carve::gateway
