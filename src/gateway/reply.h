// Private to the gateway: answers the gateway writes itself, whole (reply.cpp),
// for its own routes and its errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/errors.h"
#include "gateway/executor.h"
#include "gateway/io.h"

namespace carve::gateway::net {

// Writes a whole answer with `body`; false if the client is gone.
Task<bool> WriteText(Conn& client, unsigned version, bool keep_alive, int status,
                     std::string_view content_type, std::string body, const std::string& request_id,
                     int write_timeout_ms,
                     const std::vector<std::pair<std::string, std::string>>& extra_headers = {});

// Writes a gateway-originated error; false if the client is gone. The body's
// size goes to *bytes_out when given.
Task<bool> WriteError(Conn& client, unsigned version, bool keep_alive, ErrorKind kind,
                      std::string_view message, const std::string& request_id, int write_timeout_ms,
                      uint64_t* bytes_out = nullptr);

}  // namespace carve::gateway::net
