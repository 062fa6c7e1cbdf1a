// libFuzzer target: model extraction from JSON and multipart bodies, and route
// matching, on arbitrary bytes. Built only when clang is available (see
// CMakeLists.txt); run by ctest for a bounded time.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gateway/request.h"

using carve::gateway::ExtractModel;
using carve::gateway::MatchRoute;
using carve::gateway::ModelOrError;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ModelOrError json = ExtractModel("application/json", in);
  if (json.ok() && json.model.empty()) __builtin_trap();  // ok() promises a model
  // The first line is the Content-Type, the rest the body: reaches the form parser.
  size_t nl = in.find('\n');
  if (nl != std::string_view::npos) {
    ModelOrError form = ExtractModel(in.substr(0, nl), in.substr(nl + 1));
    if (form.ok() && form.model.empty()) __builtin_trap();
  }
  auto route = MatchRoute(in.substr(0, in.find(' ')),
                          in.substr(in.find(' ') == in.npos ? 0 : in.find(' ') + 1));
  (void)route;
  return 0;
}
