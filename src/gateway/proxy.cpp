// The upstream half of the gateway: pick a replica, reach it, send the request;
// relay.cpp sends the answer back.
//
// Retries happen only before the first byte reached the client. A replica that
// refuses a connection leaves rotation at once (the prober brings it back). A
// client that goes away closes the upstream connection promptly, so the engine
// stops generating: a watcher waits for the client socket to become readable
// while the exchange runs, and EOF there means the client left.
//
// Watching costs a system call (the reactor re-arms the socket), which most
// exchanges, over in a few milliseconds, never need. So a watch is armed only
// once its exchange is kWatchAfter old, by a tick that runs on each worker
// while exchanges are in flight: a client that leaves is noticed within about
// twice kWatchAfter (the bound is 100 ms).
#include <sys/socket.h>

#include <array>
#include <boost/container/small_vector.hpp>
#include <cerrno>

#include "gateway/relay.h"
#include "gateway/reply.h"
#include "gateway/wire.h"

namespace carve::gateway::net {
namespace {

constexpr auto kWatchAfter = std::chrono::milliseconds(10);

void StartWatch(const std::shared_ptr<Watch>& w) {
  w->armed = true;
  w->client->socket().async_wait(tcp::socket::wait_read, [w](beast::error_code ec) {
    if (!w->active || ec) return;
    char c;
    ssize_t n = ::recv(w->client->socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;  // a pipelined request, not a disconnect: stop watching
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return StartWatch(w);
    w->client_gone = true;
    if (w->upstream) w->upstream->Close();
    if (w->queue_timer) w->queue_timer->cancel();
  });
}

// Arms the watches of the worker's exchanges that are kWatchAfter old, and
// forgets those that ended; stops when none is left.
void WatchTick(Worker& wk, const std::shared_ptr<Timer>& timer) {
  timer->expires_after(kWatchAfter);
  timer->async_wait([&wk, timer](beast::error_code ec) {
    if (ec) return;
    auto now = Clock::now();
    std::erase_if(wk.unwatched, [now](const std::shared_ptr<Watch>& w) {
      if (!w->active) return true;
      if (now - w->since < kWatchAfter) return false;
      StartWatch(w);
      return true;
    });
    if (wk.unwatched.empty()) {
      wk.watch_ticking = false;
      return;
    }
    WatchTick(wk, timer);
  });
}

void WatchLater(Worker& wk, std::shared_ptr<Watch> w) {
  wk.unwatched.push_back(std::move(w));
  if (wk.watch_ticking) return;
  wk.watch_ticking = true;
  WatchTick(wk, std::make_shared<Timer>(wk.ioc));
}

Task<std::unique_ptr<Conn>> Connect(Exchange& x, Replica& r) {
  const auto& cfg = x.job.snap->config;
  auto conn = std::make_unique<Conn>(x.wk);
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
  auto [cec] = co_await conn->socket().async_connect(ep, kTuple);
  conn->expires_never();
  if (cec) {
    x.error = conn->timed_out() ? ErrorKind::kUpstreamTimeout : ErrorKind::kNoHealthyUpstream;
    x.error_message =
        "cannot connect to " + r.backend().url + ": " +
        (conn->timed_out() ? "no answer within " + std::to_string(cfg.timeouts.connect_ms) + " ms"
                           : cec.message());
    x.watch.upstream = nullptr;
    co_return nullptr;
  }
  conn->socket().set_option(tcp::no_delay(true), ec);
  conn->socket().non_blocking(true, ec);  // WriteAll writes straight to it
  co_return conn;
}

// Reads the head of an engine's final answer. Interim answers (100 Continue,
// 102, 103 Early Hints) are read and dropped: each is a message of its own,
// and relaying one as the final answer would leave the real answer in the
// pooled connection for whichever client's request uses it next. uvicorn
// (under vLLM and SGLang) sends 100 for an Expect field, which the gateway
// never forwards, but nothing stops an engine sending one anyway. 101 (a
// protocol switch nobody asked for) is a broken answer: bad_status.
Task<beast::error_code> ReadFinalHead(Conn& conn, std::optional<wire::EngineAnswer>& answer) {
  constexpr int kMaxInterim = 16;
  for (int n = 0;; ++n) {
    answer.emplace(conn.text());
    answer->limit_head(64 << 10);
    answer->body_limit(boost::none);  // buffered answers are bounded by their length below
    answer->eager(true);
    beast::error_code ec = co_await ReadMessage(conn, *answer, /*header_only=*/true);
    if (ec || !answer->interim()) co_return ec;
    if (answer->status() == 101 || n == kMaxInterim) co_return http::error::bad_status;
  }
}

// One try on one replica. A pooled connection that turns out closed is replaced
// by a fresh one once; that is the engine's keep-alive, not a failure.
Task<Attempt> TryReplica(Exchange& x, Replica& r) {
  const auto& cfg = x.job.snap->config;
  // The engine's request: the client's head rewritten as it is written (the
  // body, which may be tens of MiB, is sent from where it was read).
  const wire::ClientRequest& req = x.job.req;
  std::string up_head;
  wire::AppendUpstreamHead(req,
                           {.host = r.endpoint().host_header,
                            .request_id = x.job.request_id,
                            .client_ip = x.job.client_ip,
                            .content_length = req.body().size()},
                           up_head);
  std::array<asio::const_buffer, 2> request{asio::buffer(up_head), asio::buffer(req.body())};
  for (int round = 0; round < 2; ++round) {
    x.watch.upstream = nullptr;
    std::unique_ptr<Conn> conn;
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
    beast::error_code hec = co_await WriteAll(*conn, request, 0);
    std::optional<wire::EngineAnswer> answer;
    if (!hec) hec = co_await ReadFinalHead(*conn, answer);
    if (x.watch.client_gone) co_return Attempt::kClientGone;
    const bool timed_out = conn->timed_out();
    if (hec && reused && !timed_out) continue;
    if (hec) {
      x.error = timed_out ? ErrorKind::kUpstreamTimeout : ErrorKind::kBadGateway;
      x.error_message =
          "the engine at " + r.backend().url + " did not answer: " +
          (timed_out ? "nothing within " + std::to_string(cfg.timeouts.upstream_idle_ms) + " ms"
           : hec == http::error::bad_status
               ? "it sent 101 Switching Protocols or endless interim (1xx) answers, which the "
                 "gateway does not relay"
               : hec.message());
      if (timed_out) co_return Attempt::kFailed;
      x.job.pool->MarkDown(&r);
      co_return Attempt::kRetry;
    }
    x.out.replica = &r.backend().url;
    x.out.first_byte_ms = MsSince(x.job.start);
    const bool sse = answer->event_stream();
    const bool bounded =
        answer->content_length() && *answer->content_length() <= kMaxBufferedResponse;
    if (!sse && bounded) co_return co_await RelayBuffered(x, r, conn, *answer);
    x.out.first_byte_ms = 0;  // set when the first body bytes arrive
    co_return co_await RelayStream(x, r, conn, *answer);
  }
  co_return Attempt::kRetry;
}

// Waits for a slot on the model, queueing when every replica is at its limit.
struct QueueWait {
  explicit QueueWait(asio::io_context& ioc) : timer(ioc) {}
  Timer timer;
  Waiter waiter;
};

// The queue of a model with no ready replica is full. For an on-demand model
// (one carve up loads when asked) that is a 503 to retry once it has loaded,
// not a 429 that says the client sends too much.
void RefuseFullQueue(Exchange& x, bool none) {
  if (!none || !x.st.on_demand(x.job.model)) {
    x.error = ErrorKind::kQueueFull;
    return;
  }
  x.error = ErrorKind::kLoadQueueFull;
  x.error_message = std::to_string(x.job.pool->queue_depth()) + " requests already wait for '" +
                    x.job.model +
                    "' to load (limits.max_queue); retry after the delay given "
                    "(carve status shows the model's state).";
}

// The error of a request whose wait for a replica or a slot ended without
// one: `still_queued`, its deadline passed (or the client left); else the
// pool gave it up (a failed load, the model removed).
void GiveUpWait(Exchange& x, const Waiter& waiter, bool still_queued, int wait_ms) {
  const ModelPool& pool = *x.job.pool;
  if (!still_queued) {
    x.error = waiter.failure.empty() ? ErrorKind::kNoHealthyUpstream : ErrorKind::kModelLoadFailed;
    x.error_message = waiter.failure;  // empty: the default message
  } else if (!pool.any_healthy()) {
    x.error = ErrorKind::kNoHealthyUpstream;
    x.error_message = "no replica of '" + x.job.model + "' was ready within " +
                      std::to_string(wait_ms) + " ms; retry shortly";
  } else {
    x.error = ErrorKind::kQueueTimeout;
    x.error_message = "waited " + std::to_string(wait_ms) + " ms for a free replica of '" +
                      x.job.model + "'; retry later";
  }
}

// A slot on a replica: at once, or after a wait in the model's queue, for a
// slot (all busy: up to queue_ms) or for a replica to be ready (none is, or
// only those tried: an engine restarting or on its way; up to hold_ms). A
// request that finds no ready replica tells carve up (the demand handler),
// which loads an on-demand model then; its wait is timed in replica_wait.
Task<Lease> AcquireSlot(Exchange& x, std::span<const Replica* const> tried) {
  ModelPool& pool = *x.job.pool;
  const Timeouts& t = x.job.snap->config.timeouts;
  auto first = pool.Acquire(tried, nullptr);
  if (first.outcome == ModelPool::Outcome::kGranted) co_return std::move(first.lease);
  const bool none = first.outcome == ModelPool::Outcome::kNoHealthy;
  if (pool.limits().max_queue == 0 || (none && t.hold_ms == 0)) {
    if (none) x.st.NoteDemand(x.job.model);
    // A retry keeps the error of the try that failed.
    if (!none || tried.empty())
      x.error = none ? ErrorKind::kNoHealthyUpstream : ErrorKind::kQueueFull;
    co_return Lease{};
  }
  const int wait_ms = none ? t.hold_ms : t.queue_ms;
  auto wait = std::make_shared<QueueWait>(x.wk.ioc);
  wait->timer.expires_after(std::chrono::milliseconds(wait_ms));
  wait->waiter.wake = [wait] {
    asio::post(wait->timer.get_executor(), [wait] { wait->timer.cancel(); });
  };
  auto second = pool.Acquire(tried, &wait->waiter);
  // Told once the request is queued, so a FailWaiting that follows the
  // demand finds it.
  if (none && second.outcome != ModelPool::Outcome::kGranted) x.st.NoteDemand(x.job.model);
  if (second.outcome != ModelPool::Outcome::kQueued) {
    wait->waiter.wake = nullptr;
    if (second.outcome == ModelPool::Outcome::kGranted) co_return std::move(second.lease);
    if (second.outcome == ModelPool::Outcome::kQueueFull)
      RefuseFullQueue(x, none);
    else
      x.error = ErrorKind::kNoHealthyUpstream;
    co_return Lease{};
  }
  const auto queued_at = Clock::now();
  x.watch.queue_timer = &wait->timer;
  co_await wait->timer.async_wait(kTuple);
  x.watch.queue_timer = nullptr;
  bool still_queued = pool.Cancel(&wait->waiter);
  wait->waiter.wake = nullptr;  // breaks the wait <-> wake cycle; the pool is done with it
  if (none) pool.replica_wait.Observe(MsSince(queued_at) / 1000);
  Lease lease = still_queued ? Lease{} : pool.Adopt(&wait->waiter);
  if (!lease) GiveUpWait(x, wait->waiter, still_queued, wait_ms);
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

Task<ProxyOutcome> Proxy(GatewayState& st, Worker& wk, Conn& client, ProxyJob& job) {
  ProxyOutcome out;
  out.keep_alive = job.keep_alive;
  const unsigned client_version = job.req.version();
  auto watch = std::make_shared<Watch>();
  watch->client = &client;
  watch->since = job.start;
  WatchLater(wk, watch);
  Exchange x{st, wk, client, job, *watch, out, client_version, ErrorKind::kNoHealthyUpstream, {}};
  boost::container::small_vector<const Replica*, 4>
      tried;  // no allocation for the usual 1 to 3 tries
  Attempt result = Attempt::kRetry;
  const int tries = 1 + job.snap->config.retries;
  for (int i = 0; i < tries && result == Attempt::kRetry && !watch->client_gone && !st.cutting;
       ++i) {
    Lease lease = co_await AcquireSlot(x, tried);
    if (!lease) break;
    Replica& r = *lease.replica();
    tried.push_back(&r);
    result = co_await TryReplica(x, r);
    watch->upstream = nullptr;
    r.duration.Observe(MsSince(job.start) / 1000);
    if (result == Attempt::kDone) {
      r.requests.Add(job.key_tag, static_cast<uint32_t>(out.status));
      if (out.tokens) r.tokens.fetch_add(out.tokens, std::memory_order_relaxed);
      if (out.first_byte_ms > 0) r.first_byte.Observe(out.first_byte_ms / 1000);
    }
  }
  watch->active = false;
  if (watch->armed) {
    beast::error_code ignored;
    client.socket().cancel(ignored);
  }
  if (watch->client_gone || result == Attempt::kClientGone) {
    out.status = 499;  // nginx's "client closed request", for the log only
    out.keep_alive = false;
    co_return out;
  }
  if (result == Attempt::kDone) co_return out;
  if (st.cutting) {  // the drain ran out while this request waited or ran
    x.error = ErrorKind::kDraining;
    x.error_message = "The gateway shut down before the engine answered; retry.";
  }
  const auto& info = InfoFor(x.error);
  out.status = info.status;
  out.error = std::string(info.code);
  st.CountError(job.pool.get(), x.error, job.key_tag);
  std::string message =
      x.error_message.empty() ? DefaultMessage(x.error, job.model) : x.error_message;
  bool ok =
      co_await WriteError(client, client_version, out.keep_alive, x.error, message, job.request_id,
                          job.snap->config.timeouts.client_write_ms, &out.bytes_out);
  if (!ok) out.keep_alive = false;
  co_return out;
}

}  // namespace carve::gateway::net