// Private to the gateway: its connections (client or engine) and their two
// I/O primitives (io.cpp); wire.h does the framing.
#pragma once

#include <chrono>
#include <span>

#include "gateway/executor.h"
#include "gateway/wire.h"

namespace carve::gateway::net {

struct Worker;  // worker.h

// A TCP connection (client or engine) with a deadline. Deadlines are kept by
// the worker's sweep, every kSweepEvery, not by a timer armed and cancelled
// around each read and write: that cost more than the read or write's own
// bookkeeping, and setting a deadline here is a store. A connection found past
// its deadline is closed, so the operation in progress (and any later one)
// fails; timed_out() says why. A deadline covers whatever the connection does
// until it is moved or cleared, so it is cleared once the wait it bounds ends.
class Conn {
 public:
  static constexpr auto kSweepEvery = std::chrono::milliseconds(100);

  explicit Conn(Worker& worker);        // to be connected: to an engine
  Conn(Worker& worker, Socket socket);  // accepted: from a client
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Socket& socket() { return socket_; }
  beast::flat_buffer& buffer() { return buf_; }  // read-ahead, kept across keep-alive requests
  wire::MessageText& text() { return text_; }    // what the parser keeps, reused likewise
  bool idle = false;  // a client session waiting for its next request (shutdown cancels it)
  void expires_after(std::chrono::milliseconds duration) { deadline_ = Clock::now() + duration; }
  void expires_never() { deadline_ = Clock::time_point::max(); }
  bool timed_out() const { return timed_out_; }
  bool upstream() const { return upstream_; }  // a connection to an engine
  Conn* next() const { return next_; }         // the worker's next connection
  void Close();                                // both directions; errors ignored

  // Closes the worker's connections that are past their deadline.
  static void Sweep(Worker& worker);

 private:
  Worker& wk_;
  Socket socket_;
  beast::flat_buffer buf_;
  wire::MessageText text_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timed_out_ = false;
  bool upstream_ = false;
  Conn* prev_ = nullptr;  // the worker's list of connections
  Conn* next_ = nullptr;
};

// Writes `buffers` whole. Straight to the (non-blocking) socket when the
// kernel takes it all, the usual case, which skips a trip through the
// scheduler; else the rest asynchronously. With timeout_ms > 0 the write has
// that long and the deadline is cleared after it; with 0 the caller's
// deadline holds.
Task<beast::error_code> WriteAll(Conn& conn, std::span<const asio::const_buffer> buffers,
                                 int timeout_ms);

// Reads from `conn` into its buffer and feeds `parser` (wire::Feed) until the
// header, or the whole message, is parsed, under the caller's deadline. Bytes
// already buffered (a pipelined request, a body that came with its header) are
// used before reading.
template <bool isRequest>
Task<beast::error_code> ReadMessage(Conn& conn, http::basic_parser<isRequest>& parser,
                                    bool header_only);

}  // namespace carve::gateway::net
