// Private to the gateway: idle keep-alive connections to engines, one pool
// per worker (upstream_pool.cpp).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/io.h"

namespace carve::gateway::net {

// Not thread-safe: a worker's pool is only used on that worker's thread.
class UpstreamPool {
 public:
  // A pooled connection to `host_port`, or null.
  std::unique_ptr<Conn> TakeIdle(const std::string& host_port);
  // Keeps `conn` for a later request to `host_port`, unless it holds unread
  // bytes or the pool is full (then it is closed).
  void PutIdle(const std::string& host_port, std::unique_ptr<Conn> conn);

 private:
  static constexpr size_t kMaxIdlePerUpstream = 64;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Conn>>> idle_;
};

}  // namespace carve::gateway::net
