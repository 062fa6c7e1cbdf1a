// Idle keep-alive connections to engines (upstream_pool.h).
#include "gateway/upstream_pool.h"

namespace carve::gateway::net {

std::unique_ptr<Conn> UpstreamPool::TakeIdle(const std::string& host_port) {
  auto it = idle_.find(host_port);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  if (list.empty()) return nullptr;
  // No liveness check here (it would cost a syscall per request): if the engine
  // closed this connection while idle, the exchange fails before any answer and
  // TryReplica retries once on a fresh connection.
  auto conn = std::move(list.back());
  list.pop_back();
  return conn;
}

void UpstreamPool::PutIdle(const std::string& host_port, std::unique_ptr<Conn> conn) {
  // Bytes past the answer mean the engine is out of step with its requests:
  // whatever they are, they belong to no later request.
  if (conn->buffer().size() != 0) return;
  auto& list = idle_[host_port];
  if (list.size() < kMaxIdlePerUpstream) {
    conn->expires_never();
    conn->text().Shrink();
    list.push_back(std::move(conn));
  }
}

}  // namespace carve::gateway::net
