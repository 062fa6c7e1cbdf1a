// Loopback ports for engines.
//
// An engine takes a port number on its command line and binds it itself, often
// a minute later (vLLM loads weights first), so no reservation carve holds can
// last until the engine binds. What carve does instead:
//   1. ports come from a range below the kernel's ephemeral range (outgoing
//      connections never take them), default 20000-20999;
//   2. one allocator per carve process hands each port to one replica only, so
//      replicas never race each other;
//   3. a port is handed out only if it binds on 127.0.0.1 right now;
//   4. an engine that still loses the race exits saying "address in use"; the
//      supervisor sees that in its log, takes another port and restarts it; and
//      readiness checks that the server on the port lists our model, so a
//      stranger on the port is never mistaken for the engine.
// The residual race (another program binds the port between 3 and the engine's
// own bind) costs one restart, never a wrong backend. Thread-safe.
#pragma once

#include <set>
#include <string>

#include "util/mutex.h"
#include "util/status.h"

namespace carve::serve {

class PortAllocator {
 public:
  PortAllocator(int first = 20000, int last = 20999);  // inclusive
  PortAllocator(const PortAllocator&) = delete;
  PortAllocator& operator=(const PortAllocator&) = delete;

  // A free port from the range; kInsufficientResources when none is.
  Result<int> Acquire();
  // A port the spec fixed: kInUse when a replica here or another process has it.
  Status AcquireFixed(int port);
  void Release(int port);

 private:
  util::Mutex mu_;
  const int first_, last_;
  int next_ GUARDED_BY(mu_);  // rotates, so a freed port rests a while
  std::set<int> held_ GUARDED_BY(mu_);
};

// True when a listening socket could bind 127.0.0.1:port now (with
// SO_REUSEADDR, as servers bind, so TIME_WAIT leftovers do not count).
bool PortIsFree(int port);

// True when an engine's log says its bind failed (Python, uvicorn, C++ servers).
bool LogSaysAddressInUse(const std::string& log_tail);

}  // namespace carve::serve
