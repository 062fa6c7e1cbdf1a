// Private to proxy.cpp and relay.cpp: one proxied exchange, and relaying an
// engine's answer to the client once its headers arrived.
#pragma once

#include <memory>
#include <string>

#include "gateway/proxy.h"
#include "gateway/wire.h"

namespace carve::gateway::net {

// Answers of known length up to this are read whole before the client sees a
// byte (so a failure can still be retried); larger ones stream through.
inline constexpr uint64_t kMaxBufferedResponse = 8ull << 20;

// Shared between a proxied request and the watcher of its client socket.
struct Watch {
  Conn* client = nullptr;
  Clock::time_point since;   // when the exchange began
  Conn* upstream = nullptr;  // closed when the client leaves
  Timer* queue_timer = nullptr;
  bool client_gone = false;
  bool armed = false;  // waiting on the client socket
  bool active = true;  // false once the exchange is over: `client` may be gone
};

enum class Attempt { kDone, kRetry, kClientGone, kFailed };

struct Exchange {
  GatewayState& st;
  Worker& wk;
  Conn& client;
  ProxyJob& job;
  Watch& watch;
  ProxyOutcome& out;
  unsigned client_version;                          // HTTP/1.0 or 1.1, as the client spoke
  ErrorKind error = ErrorKind::kNoHealthyUpstream;  // when the attempt was not kDone
  std::string error_message;
};

double MsSince(Clock::time_point t);

// A complete, bounded answer (its head parsed into `answer`): read it all,
// then send it in one write. Until the write, a failure can still be retried
// elsewhere (kRetry).
Task<Attempt> RelayBuffered(Exchange& x, Replica& r, std::unique_ptr<Conn>& conn,
                            wire::EngineAnswer& answer);

// A stream (or an unbounded answer): every read from the engine is one write
// to the client. An engine lost mid-stream ends an SSE stream with an error
// event (kDone: the status was already sent).
Task<Attempt> RelayStream(Exchange& x, Replica& r, std::unique_ptr<Conn>& conn,
                          wire::EngineAnswer& answer);

}  // namespace carve::gateway::net
