// The upstream half of the gateway: pick a replica, forward, relay the answer.
//
// Retries happen only before the first byte reached the client. A replica that
// refuses a connection leaves rotation at once (the prober brings it back). A
// client that goes away closes the upstream connection at once, so the engine
// stops generating: a watcher waits for the client socket to become readable
// while the exchange runs, and EOF there means the client left.
#include <sys/socket.h>

#include <cerrno>

#include "gateway/net.h"

namespace carve::gateway::net {
namespace {

constexpr uint64_t kMaxBufferedResponse = 8ull << 20;  // larger answers stream through
constexpr size_t kRelayChunk = 16 << 10;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Shared between a proxied request and the watcher of its client socket.
struct Watch {
  Stream* upstream = nullptr;  // closed when the client leaves
  Timer* queue_timer = nullptr;
  bool client_gone = false;
  bool active = true;
};

void CloseUpstream(Stream* s) {
  beast::error_code ignored;
  s->socket().shutdown(tcp::socket::shutdown_both, ignored);
  s->socket().close(ignored);
}

void StartWatch(Stream& client, std::shared_ptr<Watch> w) {
  client.socket().async_wait(tcp::socket::wait_read, [&client, w](beast::error_code ec) {
    if (!w->active || ec) return;
    char c;
    ssize_t n = ::recv(client.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;  // a pipelined request, not a disconnect: stop watching
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return StartWatch(client, w);
    w->client_gone = true;
    if (w->upstream) CloseUpstream(w->upstream);
    if (w->queue_timer) w->queue_timer->cancel();
  });
}

bool IsHopByHop(http::field f) {
  switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
    case http::field::expect:
    case http::field::host:
    case http::field::content_length:
      return true;
    default:
      return false;
  }
}

// The client's request, turned into the engine's in place (no copy of a body
// that may be tens of MiB): hop-by-hop headers out, our own in.
Request& UpstreamRequest(ProxyJob& job) {
  Request& up = job.req;
  const bool strip_keys = job.snap->keys.enabled();  // gateway keys are not the engine's
  for (auto it = up.begin(); it != up.end();) {
    bool drop =
        IsHopByHop(it->name()) || (strip_keys && (it->name() == http::field::authorization ||
                                                  beast::iequals(it->name_string(), "x-api-key")));
    it = drop ? up.erase(it) : std::next(it);
  }
  up.version(11);
  up.set("X-Request-Id", job.request_id);
  up.set(http::field::forwarded, "for=\"" + job.client_ip + "\"");
  up.keep_alive(true);
  up.prepare_payload();
  return up;
}

enum class Attempt { kDone, kRetry, kClientGone, kFailed };

struct Exchange {
  GatewayState& st;
  Worker& wk;
  Stream& client;
  ProxyJob& job;
  Request& up;
  Watch& watch;
  ProxyOutcome& out;
  unsigned client_version;                          // HTTP/1.0 or 1.1, as the client spoke
  ErrorKind error = ErrorKind::kNoHealthyUpstream;  // when the attempt was not kDone
  std::string error_message;
};

Task<std::unique_ptr<Stream>> Connect(Exchange& x, Replica& r) {
  const auto& cfg = x.job.snap->config;
  auto conn = std::make_unique<Stream>(x.wk.ioc);
  beast::error_code ec;
  auto address = asio::ip::make_address(r.endpoint().host, ec);
  tcp::endpoint ep;
  if (ec) {
    Resolver resolver(x.wk.ioc);
    auto [rec, results] = co_await resolver.async_resolve(
        r.endpoint().host, std::to_string(r.endpoint().port), kTuple);
    if (rec || results.empty()) {
      x.error_message = "cannot resolve " + r.endpoint().host + ": " + rec.message();
      co_return nullptr;
    }
    ep = *results.begin();
  } else {
    ep = tcp::endpoint(address, r.endpoint().port);
  }
  conn->expires_after(std::chrono::milliseconds(cfg.timeouts.connect_ms));
  x.watch.upstream = conn.get();
  auto [cec] = co_await conn->async_connect(ep, kTuple);
  if (cec) {
    x.error =
        cec == beast::error::timeout ? ErrorKind::kUpstreamTimeout : ErrorKind::kNoHealthyUpstream;
    x.error_message = "cannot connect to " + r.backend().url + ": " + cec.message();
    x.watch.upstream = nullptr;
    co_return nullptr;
  }
  conn->socket().set_option(tcp::no_delay(true), ec);
  co_return conn;
}

void StripHopByHop(http::fields& f) {
  for (auto it = f.begin(); it != f.end();)
    it = IsHopByHop(it->name()) ? f.erase(it) : std::next(it);
}

void CopyResponseHeaders(const http::fields& from, http::fields& to) {
  for (const auto& f : from)
    if (!IsHopByHop(f.name())) to.insert(f.name(), f.name_string(), f.value());
}

// A complete, bounded answer: read it all, then send it in one write. Until the
// write, a failure can still be retried elsewhere.
Task<Attempt> RelayBuffered(Exchange& x, Replica& r, std::unique_ptr<Stream>& conn,
                            beast::flat_buffer& buf,
                            http::response_parser<http::empty_body>& head) {
  const auto& cfg = x.job.snap->config;
  http::response_parser<http::string_body> p{std::move(head)};
  p.body_limit(kMaxBufferedResponse);
  auto [ec, n] = co_await http::async_read(*conn, buf, p, kTuple);
  if (x.watch.client_gone) co_return Attempt::kClientGone;
  if (ec) {
    x.error = ErrorKind::kBadGateway;
    x.error_message = "the engine at " + r.backend().url + " broke off its answer: " + ec.message();
    x.job.pool->MarkDown(&r);
    co_return Attempt::kRetry;
  }
  // The engine's answer goes back as it came, edited in place: hop-by-hop out.
  auto res = p.release();
  bool upstream_keep = res.keep_alive();
  StripHopByHop(res.base());
  res.version(x.client_version);
  StampResponse(res.base(), x.job.request_id);
  res.keep_alive(x.out.keep_alive);
  res.prepare_payload();
  x.out.status = res.result_int();
  x.out.bytes_out = res.body().size();
  x.client.expires_after(std::chrono::milliseconds(cfg.timeouts.client_write_ms));
  auto [wec, wn] = co_await http::async_write(x.client, res, kTuple);
  if (wec || x.watch.client_gone) co_return Attempt::kClientGone;
  if (upstream_keep) x.wk.upstreams.PutIdle(r.endpoint().host_header, std::move(conn));
  co_return Attempt::kDone;
}

// Ends a stream whose engine went away after the client got the first byte:
// an SSE error event, then a clean end of the chunked body.
Task<void> EndStreamWithError(Exchange& x, http::response<http::buffer_body>& res,
                              http::response_serializer<http::buffer_body>& sr, bool sse,
                              const std::string& why) {
  x.out.error = "upstream_disconnected";
  if (!sse || !res.chunked()) {
    x.out.keep_alive = false;  // nothing clean to say: cut the connection
    co_return;
  }
  std::string event = StreamErrorEvent(why);
  res.body().data = event.data();
  res.body().size = event.size();
  res.body().more = true;
  co_await http::async_write(x.client, sr, kTuple);
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  co_await http::async_write(x.client, sr, kTuple);
}

// A stream's inter-byte (engine) and slow-client timeouts, checked once a
// second by one timer instead of arming two timers for every chunk relayed.
class StreamTimeouts {
 public:
  StreamTimeouts(asio::io_context& ioc, Stream& upstream, Stream& client, int idle_ms, int write_ms)
      : state_(std::make_shared<State>(ioc, upstream, client, idle_ms, write_ms)) {
    upstream.expires_never();
    client.expires_never();
    Arm(state_);
  }
  ~StreamTimeouts() {
    state_->active = false;
    state_->timer.cancel();
  }
  StreamTimeouts(const StreamTimeouts&) = delete;
  StreamTimeouts& operator=(const StreamTimeouts&) = delete;

  void Read() { state_->last_read = Clock::now(); }
  void WriteStart() { state_->write_since = Clock::now(); }
  void WriteDone() { state_->write_since = Clock::time_point::max(); }
  bool upstream_timed_out() const { return state_->upstream_timed_out; }

 private:
  struct State {
    State(asio::io_context& ioc, Stream& u, Stream& c, int idle_ms, int write_ms)
        : timer(ioc), upstream(u), client(c), idle(idle_ms), write(write_ms) {}
    Timer timer;
    Stream& upstream;
    Stream& client;
    std::chrono::milliseconds idle, write;
    Clock::time_point last_read = Clock::now();
    Clock::time_point write_since = Clock::time_point::max();
    bool active = true;  // false once the stream is over: the streams may be gone
    bool upstream_timed_out = false;
  };

  static void Arm(std::shared_ptr<State> s) {
    s->timer.expires_after(std::chrono::seconds(1));
    s->timer.async_wait([s](beast::error_code ec) {
      if (ec || !s->active) return;
      auto now = Clock::now();
      if (now - s->last_read > s->idle) {
        s->upstream_timed_out = true;
        CloseUpstream(&s->upstream);
      }
      if (s->write_since != Clock::time_point::max() && now - s->write_since > s->write)
        CloseUpstream(&s->client);  // the pending write fails: the client is dropped
      Arm(s);
    });
  }

  std::shared_ptr<State> state_;
};

// A stream (or an unbounded answer): forward every read as it arrives.
Task<Attempt> RelayStream(Exchange& x, Replica& r, std::unique_ptr<Stream>& conn,
                          beast::flat_buffer& buf, http::response_parser<http::empty_body>& head,
                          bool sse) {
  const auto& cfg = x.job.snap->config;
  http::response_parser<http::buffer_body> p{std::move(head)};
  p.body_limit(boost::none);
  const auto& up = p.get();
  http::response<http::buffer_body> res{up.result(), x.client_version};
  CopyResponseHeaders(up.base(), res.base());
  StampResponse(res.base(), x.job.request_id);
  if (sse) {
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Accel-Buffering", "no");
  }
  res.chunked(x.client_version >= 11);
  if (!res.chunked()) x.out.keep_alive = false;  // HTTP/1.0: the end is the close
  res.keep_alive(x.out.keep_alive);
  x.out.status = res.result_int();
  x.out.stream = true;
  http::response_serializer<http::buffer_body> sr{res};
  StreamTimeouts timeouts(x.wk.ioc, *conn, x.client, cfg.timeouts.upstream_idle_ms,
                          cfg.timeouts.client_write_ms);
  timeouts.WriteStart();
  auto [hec, hn] = co_await http::async_write_header(x.client, sr, kTuple);
  timeouts.WriteDone();
  if (hec) co_return Attempt::kClientGone;
  char chunk[kRelayChunk];
  while (!p.is_done()) {
    p.get().body().data = chunk;
    p.get().body().size = sizeof chunk;
    auto [ec, n] = co_await http::async_read_some(*conn, buf, p, kTuple);
    if (x.watch.client_gone) co_return Attempt::kClientGone;
    if (ec == http::error::need_buffer) ec = {};
    timeouts.Read();
    if (ec) {
      bool idle = timeouts.upstream_timed_out();
      if (!idle) x.job.pool->MarkDown(&r);  // it died; a slow engine stays in rotation
      std::string why = idle ? "the engine at " + r.backend().url + " sent nothing for " +
                                   std::to_string(cfg.timeouts.upstream_idle_ms) + " ms"
                             : "the engine at " + r.backend().url + " went away mid-stream (" +
                                   ec.message() + ")";
      timeouts.WriteStart();
      co_await EndStreamWithError(x, res, sr, sse, why);
      co_return Attempt::kDone;
    }
    size_t got = sizeof chunk - p.get().body().size;
    if (got == 0) continue;
    if (x.out.first_byte_ms == 0) x.out.first_byte_ms = MsSince(x.job.start);
    res.body().data = chunk;
    res.body().size = got;
    res.body().more = true;
    timeouts.WriteStart();
    auto [wec, wn] = co_await http::async_write(x.client, sr, kTuple);
    timeouts.WriteDone();
    if (wec && wec != http::error::need_buffer) co_return Attempt::kClientGone;
    x.out.bytes_out += got;
  }
  res.body().data = nullptr;
  res.body().size = 0;
  res.body().more = false;
  timeouts.WriteStart();
  auto [eec, en] = co_await http::async_write(x.client, sr, kTuple);
  timeouts.WriteDone();
  if (p.keep_alive() && !eec) x.wk.upstreams.PutIdle(r.endpoint().host_header, std::move(conn));
  co_return eec&& eec != http::error::need_buffer ? Attempt::kClientGone : Attempt::kDone;
}

bool IsEventStream(const http::fields& f) {
  auto ct = f[http::field::content_type];
  return ct.size() >= 17 && beast::iequals(ct.substr(0, 17), "text/event-stream");
}

// One try on one replica. A pooled connection that turns out closed is replaced
// by a fresh one once; that is the engine's keep-alive, not a failure.
Task<Attempt> TryReplica(Exchange& x, Replica& r) {
  const auto& cfg = x.job.snap->config;
  x.up.set(http::field::host, r.endpoint().host_header);
  for (int round = 0; round < 2; ++round) {
    x.watch.upstream = nullptr;
    std::unique_ptr<Stream> conn;
    if (round == 0) conn = x.wk.upstreams.TakeIdle(r.endpoint().host_header);
    const bool reused = conn != nullptr;
    if (!conn) conn = co_await Connect(x, r);
    if (x.watch.client_gone) co_return Attempt::kClientGone;
    if (!conn) {
      r.connect_failures.fetch_add(1, std::memory_order_relaxed);
      x.job.pool->MarkDown(&r);
      co_return Attempt::kRetry;
    }
    x.watch.upstream = conn.get();
    conn->expires_after(std::chrono::milliseconds(cfg.timeouts.upstream_idle_ms));
    auto [wec, wn] = co_await http::async_write(*conn, x.up, kTuple);
    beast::flat_buffer buf;
    http::response_parser<http::empty_body> head;
    head.header_limit(64 << 10);
    beast::error_code hec = wec;
    if (!wec) std::tie(hec, wn) = co_await http::async_read_header(*conn, buf, head, kTuple);
    if (x.watch.client_gone) co_return Attempt::kClientGone;
    if (hec && reused && hec != beast::error::timeout) continue;
    if (hec) {
      x.error = hec == beast::error::timeout ? ErrorKind::kUpstreamTimeout : ErrorKind::kBadGateway;
      x.error_message = "the engine at " + r.backend().url + " did not answer: " + hec.message();
      if (hec == beast::error::timeout) co_return Attempt::kFailed;
      x.job.pool->MarkDown(&r);
      co_return Attempt::kRetry;
    }
    x.out.replica = r.backend().url;
    x.out.first_byte_ms = MsSince(x.job.start);
    const auto& h = head.get();
    bool sse = IsEventStream(h.base());
    bool bounded = h.has_content_length() && head.content_length() &&
                   *head.content_length() <= kMaxBufferedResponse;
    if (!sse && bounded) co_return co_await RelayBuffered(x, r, conn, buf, head);
    x.out.first_byte_ms = 0;  // set when the first body bytes arrive
    co_return co_await RelayStream(x, r, conn, buf, head, sse);
  }
  co_return Attempt::kRetry;
}

// Waits for a slot on the model, queueing when every replica is at its limit.
struct QueueWait {
  explicit QueueWait(asio::io_context& ioc) : timer(ioc) {}
  Timer timer;
  Waiter waiter;
};

Task<Lease> AcquireSlot(Exchange& x, const std::vector<const Replica*>& tried) {
  ModelPool& pool = *x.job.pool;
  auto first = pool.Acquire(tried, nullptr);
  if (first.outcome == ModelPool::Outcome::kGranted) co_return std::move(first.lease);
  if (first.outcome == ModelPool::Outcome::kNoHealthy || pool.limits().max_queue == 0) {
    bool none = first.outcome == ModelPool::Outcome::kNoHealthy;
    if (!none || tried.empty())
      x.error = none ? ErrorKind::kNoHealthyUpstream : ErrorKind::kQueueFull;
    co_return Lease{};
  }
  auto wait = std::make_shared<QueueWait>(x.wk.ioc);
  wait->timer.expires_after(std::chrono::milliseconds(x.job.snap->config.timeouts.queue_ms));
  wait->waiter.wake = [wait] {
    asio::post(wait->timer.get_executor(), [wait] { wait->timer.cancel(); });
  };
  auto second = pool.Acquire(tried, &wait->waiter);
  if (second.outcome != ModelPool::Outcome::kQueued) {
    wait->waiter.wake = nullptr;
    if (second.outcome == ModelPool::Outcome::kGranted) co_return std::move(second.lease);
    x.error = second.outcome == ModelPool::Outcome::kQueueFull ? ErrorKind::kQueueFull
                                                               : ErrorKind::kNoHealthyUpstream;
    co_return Lease{};
  }
  x.watch.queue_timer = &wait->timer;
  co_await wait->timer.async_wait(kTuple);
  x.watch.queue_timer = nullptr;
  bool still_queued = pool.Cancel(&wait->waiter);
  wait->waiter.wake = nullptr;  // breaks the wait <-> wake cycle; the pool is done with it
  if (still_queued) {
    x.error = ErrorKind::kQueueTimeout;
    x.error_message = "waited " + std::to_string(x.job.snap->config.timeouts.queue_ms) +
                      " ms for a free replica of '" + x.job.model + "'; retry later";
    co_return Lease{};
  }
  Lease lease = pool.Adopt(&wait->waiter);
  if (!lease) x.error = ErrorKind::kNoHealthyUpstream;
  co_return lease;
}

std::string DefaultMessage(ErrorKind kind, const std::string& model) {
  switch (kind) {
    case ErrorKind::kQueueFull:
      return "Too many requests are waiting for '" + model + "'; retry after the delay given.";
    case ErrorKind::kNoHealthyUpstream:
      return "No replica of '" + model + "' is reachable right now; retry shortly.";
    case ErrorKind::kUpstreamTimeout:
      return "The engine serving '" + model + "' did not answer in time.";
    default:
      return "The engine serving '" + model + "' gave a broken answer.";
  }
}

}  // namespace

std::unique_ptr<Stream> UpstreamPool::TakeIdle(const std::string& host_port) {
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

void UpstreamPool::PutIdle(const std::string& host_port, std::unique_ptr<Stream> conn) {
  auto& list = idle_[host_port];
  if (list.size() < kMaxIdlePerUpstream) {
    conn->expires_never();
    list.push_back(std::move(conn));
  }
}

Task<ProxyOutcome> Proxy(GatewayState& st, Worker& wk, Stream& client, ProxyJob& job) {
  ProxyOutcome out;
  out.keep_alive = job.req.keep_alive();
  const unsigned client_version = job.req.version();
  auto watch = std::make_shared<Watch>();
  StartWatch(client, watch);
  Request& up = UpstreamRequest(job);
  Exchange x{st, wk, client, job, up, *watch, out, client_version, ErrorKind::kNoHealthyUpstream,
             {}};
  std::vector<const Replica*> tried;
  Attempt result = Attempt::kRetry;
  const int tries = 1 + job.snap->config.retries;
  for (int i = 0; i < tries && result == Attempt::kRetry && !watch->client_gone; ++i) {
    Lease lease = co_await AcquireSlot(x, tried);
    if (!lease) break;
    Replica& r = *lease.replica();
    tried.push_back(&r);
    result = co_await TryReplica(x, r);
    watch->upstream = nullptr;
    r.duration.Observe(MsSince(job.start) / 1000);
    if (result == Attempt::kDone) {
      r.responses.Add(out.status);
      if (out.first_byte_ms > 0) r.first_byte.Observe(out.first_byte_ms / 1000);
    }
  }
  watch->active = false;
  beast::error_code ignored;
  client.socket().cancel(ignored);
  if (watch->client_gone || result == Attempt::kClientGone) {
    out.status = 499;  // nginx's "client closed request", for the log only
    out.keep_alive = false;
    co_return out;
  }
  if (result == Attempt::kDone) co_return out;
  const auto& info = InfoFor(x.error);
  out.status = info.status;
  out.error = std::string(info.code);
  st.CountError(job.pool.get(), x.error);
  std::string message =
      x.error_message.empty() ? DefaultMessage(x.error, job.model) : x.error_message;
  bool ok = co_await WriteError(client, client_version, out.keep_alive, x.error, message,
                                job.request_id, job.snap->config.timeouts.client_write_ms);
  if (!ok) out.keep_alive = false;
  co_return out;
}

}  // namespace carve::gateway::net
