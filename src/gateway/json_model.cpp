#include "gateway/json_model.h"

#include <boost/json/basic_parser_impl.hpp>
#include <string>

namespace carve::gateway {
namespace {

using boost::json::error_code;
using boost::json::string_view;

// Tracks nesting and remembers the value of the last top-level "model" key.
struct ModelHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  int depth = 0;
  bool top_is_object = false;
  bool saw_top = false;
  bool key_is_model = false;  // the current top-level key is "model"
  bool found = false;         // "model" seen at the top level
  bool is_string = false;     // … and its (last) value was a string
  std::string key;
  std::string model;

  // A value at depth 1 right after the key "model".
  bool ModelValue() const { return depth == 1 && key_is_model; }
  void Scalar() {
    if (ModelValue()) found = true, is_string = false, model.clear();
  }
  bool Begin(bool object) {
    if (!saw_top) saw_top = true, top_is_object = object;
    Scalar();
    ++depth;
    return true;
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return Begin(false); }
  bool on_array_end(std::size_t, error_code&) { return --depth, true; }
  bool on_object_begin(error_code&) { return Begin(true); }
  bool on_object_end(std::size_t, error_code&) { return --depth, true; }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (ModelValue()) model.append(s.data(), s.size());
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (!saw_top) saw_top = true;
    if (ModelValue()) {
      model.append(s.data(), s.size());
      found = true, is_string = true;
      key_is_model = false;
      return true;
    }
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (depth == 1) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    if (depth != 1) return true;
    key.append(s.data(), s.size());
    key_is_model = key == "model";
    if (key_is_model) model.clear();
    key.clear();
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(int64_t, string_view, error_code&) { return Other(); }
  bool on_uint64(uint64_t, string_view, error_code&) { return Other(); }
  bool on_double(double, string_view, error_code&) { return Other(); }
  bool on_bool(bool, error_code&) { return Other(); }
  bool on_null(error_code&) { return Other(); }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }
  bool Other() {
    if (!saw_top) saw_top = true;
    Scalar();
    return true;
  }
};

ModelOrError Fail(ErrorKind kind, std::string message) {
  ModelOrError out;
  out.error = kind;
  out.message = std::move(message);
  return out;
}

}  // namespace

ModelOrError ModelFromJson(std::string_view body) {
  boost::json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::json::basic_parser<ModelHandler> parser{options};
  error_code ec;
  size_t used = parser.write_some(false, body.data(), body.size(), ec);
  if (ec == boost::json::error::too_deep)
    return Fail(ErrorKind::kInvalidJson, "The request body nests JSON deeper than " +
                                             std::to_string(kMaxJsonDepth) +
                                             " levels; flatten it.");
  if (!ec && body.substr(used).find_first_not_of(" \t\r\n") != std::string_view::npos)
    return Fail(ErrorKind::kInvalidJson, "The request body has data after its JSON object.");
  if (ec)
    return Fail(ErrorKind::kInvalidJson,
                "The request body is not valid JSON (" + ec.message() + ").");
  const ModelHandler& h = parser.handler();
  if (!h.top_is_object)
    return Fail(ErrorKind::kInvalidJson, "The request body must be a JSON object.");
  if (!h.found)
    return Fail(ErrorKind::kMissingModel,
                "The request has no 'model'; name the model to use (GET /v1/models lists them).");
  if (!h.is_string || h.model.empty())
    return Fail(ErrorKind::kMissingModel, "'model' must be a non-empty string.");
  ModelOrError out;
  out.model = h.model;
  return out;
}

}  // namespace carve::gateway
