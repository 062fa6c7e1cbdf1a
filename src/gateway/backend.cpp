#include "gateway/backend.h"

#include <charconv>

#include "gateway/errors.h"

namespace carve::gateway {

Result<Endpoint> ParseUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = url;
  if (!rest.starts_with(kScheme))
    return Status::InvalidArgument("backend url '" + url + "' does not start with http://",
                                   "engines are reached over plain HTTP on the host, e.g. "
                                   "http://127.0.0.1:8001");
  rest.remove_prefix(kScheme.size());
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos)
    return Status::InvalidArgument("backend url '" + url + "' has a path",
                                   "give only scheme, host and port; the gateway keeps the "
                                   "client's path");
  if (rest.find('@') != std::string_view::npos)
    return Status::InvalidArgument(
        "backend url '" + Clip(url.substr(0, kScheme.size())) +
            "…' holds credentials (user:password@)",
        "engines behind carve take none, and replica URLs are published on /metrics and in logs: "
        "give http://HOST:PORT only");
  Endpoint e;
  size_t colon = rest.rfind(':');
  e.host = std::string(rest.substr(0, colon));
  e.port = 80;
  if (colon != std::string_view::npos) {
    std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return Status::InvalidArgument("backend url '" + url + "' has a bad port");
    e.port = static_cast<uint16_t>(value);
  }
  if (e.host.empty()) return Status::InvalidArgument("backend url '" + url + "' has no host");
  e.host_header = e.host + ":" + std::to_string(e.port);
  return e;
}

}  // namespace carve::gateway

namespace carve::gateway {

std::vector<std::pair<std::string, std::string>> BackendLabels(const Backend& b) {
  std::string profile = b.profile, mig_uuid = b.mig_uuid;
  if (profile.empty() && mig_uuid.empty() && !b.slice.empty()) {
    if (b.slice.starts_with("MIG-"))
      mig_uuid = b.slice;
    else
      profile = b.slice.substr(0, b.slice.find('@'));
  }
  return {{"gpu", b.gpu},         {"gpu_uuid", b.gpu_uuid},
          {"profile", profile},   {"placement", b.placement},
          {"mig_uuid", mig_uuid}, {"model", b.model},
          {"engine", b.engine},   {"replica", b.url}};
}

}  // namespace carve::gateway
