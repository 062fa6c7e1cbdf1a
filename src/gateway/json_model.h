// Reading "model" out of a JSON request body without building a document.
//
// Bodies can be tens of MiB of prompt; the gateway only needs one top-level
// string. A streaming parser validates the whole body (malformed JSON is a 400
// here, not an engine's problem) and keeps only that string.
#pragma once

#include <string_view>

#include "gateway/request.h"

namespace carve::gateway {

// How deep a request body's JSON may nest: tool and response_format schemas
// reach well past Boost.JSON's default of 32, and engines (Python's json) take
// hundreds of levels. The parser keeps its own stack, so this bounds memory,
// not recursion.
inline constexpr int kMaxJsonDepth = 512;

// The top-level "model" of a JSON object body. When "model" appears twice the
// last one wins, as it does for the Python engines behind the gateway, so the
// gateway routes by the model the engine will actually serve.
ModelOrError ModelFromJson(std::string_view body);

}  // namespace carve::gateway
