#include "gateway/request.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "gateway/json_model.h"

namespace carve::gateway {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int hi = -1, lo = -1;
    if (s[i] == '%' && i + 2 < s.size()) {
      hi = HexValue(s[i + 1]);
      lo = HexValue(s[i + 2]);
    }
    if (hi >= 0 && lo >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// vLLM serves a few model-addressed routes outside /v1.
constexpr std::array<std::string_view, 7> kBareModelRoutes = {
    "/tokenize", "/detokenize", "/rerank", "/score", "/classify", "/pooling", "/invocations"};

bool IsModelAddressedPath(std::string_view path) {
  if (path.starts_with("/v1/") || path.starts_with("/v2/")) return path != "/v1/models";
  return std::find(kBareModelRoutes.begin(), kBareModelRoutes.end(), path) !=
         kBareModelRoutes.end();
}

RouteMatch MatchGet(std::string_view path) {
  constexpr std::string_view kModelsSlash = "/v1/models/";
  if (path == "/v1/models") return {Route::kListModels, {}};
  if (path.starts_with(kModelsSlash) && path.size() > kModelsSlash.size())
    return {Route::kGetModel, PercentDecode(path.substr(kModelsSlash.size()))};
  if (path == "/health") return {Route::kHealth, {}};
  if (path == "/ready") return {Route::kReady, {}};
  if (path == "/metrics") return {Route::kMetrics, {}};
  if (path == "/ui" || path == "/ui/") return {Route::kUiFile, {}, "index.html"};
  if (path == "/ui/state") return {Route::kUiState, {}};
  if (path == "/ui/events") return {Route::kUiEvents, {}};
  if (path.starts_with("/ui/") && path.find('/', 4) == std::string_view::npos)
    return {Route::kUiFile, {}, std::string(path.substr(4))};
  if (IsModelAddressedPath(path)) return {Route::kWrongMethod, {}};
  return {};
}

}  // namespace

bool HasDotSegment(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  size_t at = 0;
  while (at <= path.size()) {
    size_t end = std::min(path.find('/', at), path.size());
    std::string_view seg = path.substr(at, end - at);
    // Decode only the dots: %2e and %2E.
    std::string dots;
    for (size_t i = 0; i < seg.size() && dots.size() < 3;) {
      if (seg[i] == '.') {
        dots += '.', ++i;
      } else if (seg.size() - i >= 3 && seg[i] == '%' && seg[i + 1] == '2' &&
                 (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
        dots += '.', i += 3;
      } else {
        dots = "x";
        break;
      }
    }
    if (dots == "." || dots == "..") return true;
    at = end + 1;
  }
  return false;
}

RouteMatch MatchRoute(std::string_view method, std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (method == "GET") return MatchGet(path);  // HEAD is refused: no body to strip
  if (method == "POST" && IsModelAddressedPath(path)) return {Route::kModelAddressed, {}};
  if (MatchGet(path).route != Route::kUnknown || IsModelAddressedPath(path))
    return {Route::kWrongMethod, {}};
  return {};
}

std::string_view MultipartBoundary(std::string_view content_type) {
  size_t pos = 0;
  while ((pos = content_type.find(';', pos)) != std::string_view::npos) {
    std::string_view param = Trim(content_type.substr(pos + 1));
    param = param.substr(0, param.find(';'));
    ++pos;
    if (!IStartsWith(param, "boundary=")) continue;
    std::string_view value = Trim(param.substr(9));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return {};
}

namespace {

// The name="…" of a part's Content-Disposition header, or empty.
std::string_view PartName(std::string_view headers) {
  size_t line_start = 0;
  while (line_start < headers.size()) {
    size_t end = headers.find("\r\n", line_start);
    std::string_view line = headers.substr(line_start, end - line_start);
    if (IStartsWith(line, "content-disposition:")) {
      size_t n = line.find("name=\"");
      // "filename=" also contains "name=": require a separator before it.
      while (n != std::string_view::npos && n > 0 && line[n - 1] != ' ' && line[n - 1] != ';')
        n = line.find("name=\"", n + 1);
      if (n == std::string_view::npos) return {};
      std::string_view rest = line.substr(n + 6);
      return rest.substr(0, rest.find('"'));
    }
    if (end == std::string_view::npos) break;
    line_start = end + 2;
  }
  return {};
}

}  // namespace

std::optional<std::string_view> MultipartField(std::string_view body, std::string_view boundary,
                                               std::string_view name) {
  if (boundary.empty()) return std::nullopt;
  const std::string delim = "--" + std::string(boundary);
  size_t pos = body.find(delim);
  while (pos != std::string_view::npos) {
    size_t part = pos + delim.size();
    if (body.substr(part, 2) == "--") return std::nullopt;  // closing delimiter
    if (body.substr(part, 2) != "\r\n") return std::nullopt;
    part += 2;
    size_t headers_end = body.find("\r\n\r\n", part);
    if (headers_end == std::string_view::npos) return std::nullopt;
    size_t next = body.find("\r\n" + delim, headers_end + 4);
    if (next == std::string_view::npos) return std::nullopt;
    if (PartName(body.substr(part, headers_end + 2 - part)) == name)
      return body.substr(headers_end + 4, next - (headers_end + 4));
    pos = next + 2;
  }
  return std::nullopt;
}

ModelOrError ExtractModel(std::string_view content_type, std::string_view body) {
  ModelOrError out;
  if (IStartsWith(Trim(content_type), "multipart/form-data")) {
    auto field = MultipartField(body, MultipartBoundary(content_type), "model");
    if (!field || Trim(*field).empty()) {
      out.error = ErrorKind::kMissingModel;
      out.message = "The form field 'model' is missing or empty; name the model to use.";
      return out;
    }
    out.model = std::string(Trim(*field));
    return out;
  }
  return ModelFromJson(body);
}

}  // namespace carve::gateway
