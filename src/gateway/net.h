// Private to the gateway's two networking files (server.cpp, proxy.cpp): the
// Beast/Asio types they share. Nothing outside src/gateway includes this, so
// the rest of carve compiles without Beast.
//
// Threading: the gateway runs one io_context per thread ("worker"); a client
// connection and the upstream connections it uses live on one worker, so a
// session never needs a strand. Shared state (router, counters, snapshot) is
// thread-safe on its own.
#pragma once

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gateway/access_log.h"
#include "gateway/config.h"
#include "gateway/errors.h"
#include "gateway/keys.h"
#include "gateway/router.h"
#include "gateway/wire.h"
#include "util/mutex.h"

namespace carve::gateway::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Every I/O object names the io_context's own executor rather than the
// type-erased any_io_executor: each operation then skips an executor copy and
// a virtual call, which shows in a proxy's per-request cost.
using Executor = asio::io_context::executor_type;
template <typename T = void>
using Task = asio::awaitable<T, Executor>;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor>;
inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable_t<Executor>{});

// What a reload replaces as a whole; sessions hold the one they started with.
struct Snapshot {
  GatewayConfig config;
  KeyRing keys;
};

struct Worker;

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

  explicit Conn(Worker& wk);        // to be connected: to an engine
  Conn(Worker& wk, Socket socket);  // accepted: from a client
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Socket& socket() { return socket_; }
  beast::flat_buffer& buffer() { return buf_; }  // read-ahead, kept across keep-alive requests
  wire::MessageText& text() { return text_; }    // what the parser keeps, reused likewise
  bool idle = false;  // a client session waiting for its next request (shutdown cancels it)
  void expires_after(std::chrono::milliseconds d) { deadline_ = Clock::now() + d; }
  void expires_never() { deadline_ = Clock::time_point::max(); }
  bool timed_out() const { return timed_out_; }
  bool upstream() const { return upstream_; }  // a connection to an engine
  Conn* next() const { return next_; }         // the worker's next connection
  void Close();                                // both directions; errors ignored

  // Closes the worker's connections that are past their deadline.
  static void Sweep(Worker& wk);

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

// Idle keep-alive connections to engines, for one worker (no locking).
class UpstreamPool {
 public:
  // A pooled connection that is still open, or null.
  std::unique_ptr<Conn> TakeIdle(const std::string& host_port);
  void PutIdle(const std::string& host_port, std::unique_ptr<Conn> conn);

 private:
  static constexpr size_t kMaxIdlePerUpstream = 64;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Conn>>> idle_;
};

struct Watch;  // relay.h

struct Worker {
  // Before ioc: a session's coroutine, destroyed with ioc, unlinks its
  // connection from this list.
  Conn* conns = nullptr;
  bool sweeping = false;
  asio::io_context ioc{1};
  UpstreamPool upstreams;
  std::vector<std::shared_ptr<Watch>> unwatched;  // exchanges whose client is not watched yet
  bool watch_ticking = false;
  std::shared_ptr<const Snapshot> snapshot;  // as this worker last saw it (CurrentSnapshot)
  uint64_t snapshot_version = 0;
  std::thread thread;
};

struct GatewayState {
  // Request bodies in flight may hold this much memory together: eight of the
  // largest allowed, at least 64 MiB (fixed at start; a reload keeps it).
  static uint64_t BodyBudgetFor(const GatewayConfig& c) {
    return std::max<uint64_t>(8 * c.max_body_bytes, 64ull << 20);
  }
  explicit GatewayState(std::shared_ptr<const Snapshot> s)
      : bodies(BodyBudgetFor(s->config)), snapshot_(std::move(s)) {}
  std::shared_ptr<const Snapshot> snapshot() const {
    util::MutexLock lock(mu);
    return snapshot_;
  }
  void set_snapshot(std::shared_ptr<const Snapshot> s) {
    util::MutexLock lock(mu);
    snapshot_ = std::move(s);
    snapshot_version.fetch_add(1, std::memory_order_release);
  }
  void CountError(ModelPool* pool, ErrorKind kind) {
    auto& counts = pool ? pool->errors : unrouted_errors;
    counts[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }

  Router router;
  std::unique_ptr<AccessLog> log;
  ErrorCounts unrouted_errors{};  // errors before a model was known
  std::atomic<int> connections{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> cutting{false};  // the drain ran out: exchanges still running are ended
  std::atomic<int> busy{0};          // requests read and not yet answered
  wire::BodyBudget bodies;
  std::atomic<bool> probed_once{false};
  std::atomic<uint64_t> snapshot_version{1};  // bumped by every set_snapshot
  std::function<std::string()> extra_metrics GUARDED_BY(mu);
  const int64_t started_unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
  mutable util::Mutex mu;

 private:
  std::shared_ptr<const Snapshot> snapshot_ GUARDED_BY(mu);
};

// The current snapshot, as seen from a worker's thread: a lock only when a
// reload has replaced it since the worker last looked, not once per request.
inline const std::shared_ptr<const Snapshot>& CurrentSnapshot(GatewayState& st, Worker& wk) {
  uint64_t v = st.snapshot_version.load(std::memory_order_acquire);
  if (v != wk.snapshot_version) {
    wk.snapshot = st.snapshot();
    wk.snapshot_version = v;
  }
  return wk.snapshot;
}

// One model-addressed request, as the session hands it to the proxy.
struct ProxyJob {
  const wire::ClientRequest& req;
  bool keep_alive = true;  // the client's connection stays open after the answer
  std::string model;
  std::string request_id;
  std::string client_ip;
  std::shared_ptr<const Snapshot> snap;
  std::shared_ptr<ModelPool> pool;
  Clock::time_point start;
};

struct ProxyOutcome {
  int status = 0;
  std::string error;                     // the gateway's error code when it answered itself
  const std::string* replica = nullptr;  // url of the replica that answered
  double first_byte_ms = 0;
  uint64_t bytes_out = 0;
  bool stream = false;
  bool keep_alive = true;  // false: the client connection must close
};

// Forwards `job` to a replica of its model and relays the answer to `client`.
Task<ProxyOutcome> Proxy(GatewayState& st, Worker& wk, Conn& client, ProxyJob& job);

// Probes every replica's health path forever (on one worker), and fetches the
// model card of each replica that has none yet.
Task<void> RunProber(GatewayState& st, Worker& wk);

// Writes `bufs` whole. Straight to the (non-blocking) socket when the kernel
// takes it all, the usual case, which skips a trip through the scheduler;
// else the rest asynchronously. With timeout_ms > 0 the write has that long
// and the deadline is cleared after it; with 0 the caller's deadline holds.
Task<beast::error_code> WriteAll(Conn& c, std::span<const asio::const_buffer> bufs, int timeout_ms);

// Reads from `c` into its buffer and feeds `parser` (wire::Feed) until the
// header, or the whole message, is parsed, under the caller's deadline. Bytes
// already buffered (a pipelined request, a body that came with its header) are
// used before reading.
template <bool isRequest>
Task<beast::error_code> ReadMessage(Conn& c, http::basic_parser<isRequest>& parser,
                                    bool header_only);

// Writes a gateway-originated error; false if the client is gone. The body's
// size goes to *bytes_out when given.
Task<bool> WriteError(Conn& client, unsigned version, bool keep_alive, ErrorKind kind,
                      std::string_view message, const std::string& request_id, int write_timeout_ms,
                      uint64_t* bytes_out = nullptr);

}  // namespace carve::gateway::net
