// The client half of the gateway: accept, read requests, answer the gateway's
// own routes, hand model-addressed requests to the proxy, log, keep alive.
#include <array>
#include <charconv>
#include <cstring>
#include <random>

#include "gateway/exposition.h"
#include "gateway/gateway.h"
#include "gateway/gateway_state.h"
#include "gateway/handler.h"
#include "gateway/probe.h"
#include "gateway/proxy.h"
#include "gateway/reply.h"
#include "gateway/request.h"
#include "gateway/wire.h"

namespace carve::gateway {
namespace {
using namespace net;

std::string NewRequestId() {  // gw-<8 hex digits, random per process>-<hex counter>
  static const std::string prefix = [] {
    char p[16];
    std::snprintf(p, sizeof p, "gw-%08x-", static_cast<unsigned>(std::random_device{}()));
    return std::string(p);
  }();
  static std::atomic<uint64_t> counter{0};
  char buf[32];
  std::copy(prefix.begin(), prefix.end(), buf);  // not a C string: to_chars appends
  auto [end, ec] =
      std::to_chars(buf + prefix.size(), buf + sizeof buf, counter.fetch_add(1) + 1, 16);
  return std::string(buf, end);
}

std::string RequestId(const wire::ClientRequest& req) {
  std::string_view given = req.request_id();
  bool ok = !given.empty() && given.size() <= 128 &&
            std::all_of(given.begin(), given.end(), [](char c) { return c > 32 && c < 127; });
  return ok ? std::string(given) : NewRequestId();
}

std::string MetricsText(GatewayState& st) {
  std::string extra;
  {
    util::MutexLock lock(st.mu);
    if (st.extra_metrics) extra = st.extra_metrics();
  }
  GatewayGauges g{st.connections.load(), st.draining.load()};
  return RenderMetrics(st.router, st.unrouted_errors, g, extra, st.snapshot()->keys);
}

std::string StatusText(GatewayState& st) {
  util::MutexLock lock(st.mu);
  return st.status_source ? st.status_source() : std::string("{}");
}

GatewayView ViewOf(GatewayState& st, const Snapshot& snap) {
  GatewayView v{st.router,          snap.keys,         st.probed_once.load(),
                st.draining.load(), st.started_unix_s, [&st] { return MetricsText(st); }};
  v.states = [&st] { return st.states(); };
  if (st.has_status.load(std::memory_order_acquire)) v.status = [&st] { return StatusText(st); };
  return v;
}

RequestView ViewOf(const wire::ClientRequest& req) {
  return {req.method(),    req.target(),       req.authorization(),
          req.x_api_key(), req.content_type(), req.body()};
}

// Counts a request from its head until its answer is written: the drain
// waits for these.
struct Busy {
  explicit Busy(std::atomic<int>& n) : n_(n) { n_.fetch_add(1); }
  ~Busy() { n_.fetch_sub(1); }
  Busy(const Busy&) = delete;
  Busy& operator=(const Busy&) = delete;
  std::atomic<int>& n_;
};

// /ui/events: the status as a server-sent event each second, until the
// client goes (a write fails) or the gateway drains. The body ends with the
// connection, which is not used again.
Task<void> StreamStatus(GatewayState& st, Worker& wk, Conn& client, unsigned version,
                        const std::string& request_id, int write_ms, uint64_t* bytes_out) {
  http::response<http::empty_body> res{http::status::ok, version};
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Request-Id", request_id);
  res.set("X-Accel-Buffering", "no");  // a proxy in front must not hold the events back
  res.keep_alive(false);
  std::string out;
  wire::AppendHead(res.base(), out);
  out += "retry: 2000\n\n";  // how soon a browser reconnects
  Timer tick(wk.ioc);
  while (!st.draining.load()) {
    out += "event: status\ndata: " + StatusText(st) + "\n\n";
    asio::const_buffer buf = asio::buffer(out);
    if (co_await WriteAll(client, {&buf, 1}, write_ms)) break;
    *bytes_out += out.size();
    out.clear();
    tick.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await tick.async_wait(kTuple);
    if (ec) break;
  }
}

// One parsed request, answered. `snap` is the snapshot it was read under.
Task<bool> Handle(GatewayState& st, Worker& wk, Conn& client, const wire::ClientRequest& req,
                  std::shared_ptr<const Snapshot> snap, const std::string& client_ip,
                  Clock::time_point start) {
  const auto& cfg = snap->config;
  const bool logging = st.log->enabled();
  AccessRecord rec;
  rec.id = RequestId(req);
  if (logging) {
    rec.method = std::string(req.method());
    rec.path = std::string(req.target());
  }
  rec.bytes_in = req.body().size();
  const bool keep = req.keep_alive() && !st.draining.load();
  Decision d = Decide(ViewOf(st, *snap), ViewOf(req));
  if (logging) {
    rec.model = d.model;
    rec.key = d.key ? d.key->name : "";
  }
  auto pool = d.model.empty() ? nullptr : st.router.Find(d.model);
  bool ok = true;
  if (d.error) {
    st.CountError(pool.get(), *d.error, d.key ? d.key->tag : 0);
    rec.error = std::string(InfoFor(*d.error).code);
    rec.status = d.status;
    ok = co_await WriteError(client, req.version(), keep, *d.error, d.body, rec.id,
                             cfg.timeouts.client_write_ms, &rec.bytes_out);
  } else if (d.events) {
    rec.status = 200;
    co_await StreamStatus(st, wk, client, req.version(), rec.id, cfg.timeouts.client_write_ms,
                          &rec.bytes_out);
    ok = false;
  } else if (!d.proxy) {
    rec.status = d.status;
    rec.bytes_out = d.body.size();
    ok = co_await WriteText(client, req.version(), keep, d.status, d.content_type,
                            std::move(d.body), rec.id, cfg.timeouts.client_write_ms, d.headers);
  } else {
    ProxyJob job{req, keep, d.model, rec.id, client_ip, snap, pool, start, d.key ? d.key->tag : 0};
    ProxyOutcome out = co_await Proxy(st, wk, client, job);
    rec.status = out.status;
    rec.error = out.error;
    if (logging && out.replica) rec.replica = *out.replica;
    rec.first_byte_ms = out.first_byte_ms;
    rec.bytes_out = out.bytes_out;
    rec.stream = out.stream;
    ok = out.keep_alive;
  }
  if (logging) {
    rec.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    st.log->Write(rec);
  }
  co_return ok&& keep;
}

// After refusing a body, read (and drop) what the client is still sending for a
// moment, so closing does not reset the connection before it reads the answer.
Task<void> LingeringClose(Conn& conn) {
  beast::error_code ec;
  conn.socket().shutdown(tcp::socket::shutdown_send, ec);
  char sink[16 << 10];
  for (int i = 0; i < 256; ++i) {
    conn.expires_after(std::chrono::milliseconds(500));
    auto [rec, n] = co_await conn.socket().async_read_some(asio::buffer(sink), kTuple);
    if (rec) break;
  }
}

// A read error that is the client's malformed HTTP, which gets a 400 (RFC
// 9112), rather than a connection closed or timed out, which gets nothing.
bool IsMalformed(beast::error_code ec) {
  if (ec.category() != http::make_error_code(http::error::bad_method).category()) return false;
  return ec != http::error::end_of_stream && ec != http::error::partial_message &&
         ec != http::error::need_more;
}

// Why a request whose head is parsed cannot be served, before anything else:
// RFC 9112 3.2 wants exactly one Host field in HTTP/1.1 and at most one in
// 1.0. Empty when it may go on.
std::string HeadProblem(const wire::ClientRequest& req) {
  if (req.host_fields() > 1) return "The request has more than one Host field; send exactly one.";
  if (req.host_fields() == 0 && req.version() >= 11)
    return "An HTTP/1.1 request needs a Host field; send one.";
  if (HasDotSegment(req.target()))
    return "The path has a '.' or '..' segment; send the path it stands for "
           "(e.g. /v1/chat/completions).";
  return {};
}

// The error a failed read of a request earns, with its message; nullopt when
// there is nobody to answer (the client closed, or went silent).
std::optional<std::pair<ErrorKind, std::string>> ReadRefusal(const GatewayConfig& cfg,
                                                             beast::error_code ec) {
  if (ec == http::error::body_limit)
    return std::pair{ErrorKind::kBodyTooLarge,
                     "The request body is larger than this gateway's limit of " +
                         std::to_string(cfg.max_body_bytes) +
                         " bytes; send a smaller one (operators: limits.max_body_bytes)."};
  if (ec == http::error::header_limit)
    return std::pair{
        ErrorKind::kHeaderTooLarge,
        "The request headers are larger than this gateway's limit of " +
            std::to_string(cfg.max_header_bytes) +
            " bytes; send fewer or shorter ones (operators: limits.max_header_bytes)."};
  if (ec == wire::kBodyBudgetExceeded)
    return std::pair{ErrorKind::kOverloaded,
                     "The gateway holds as many request bodies as its memory allows; retry "
                     "shortly."};
  if (IsMalformed(ec))
    return std::pair{ErrorKind::kBadRequest,
                     "Malformed HTTP request (" + ec.message() +
                         "); send a well-formed HTTP/1.1 request (RFC 9112)."};
  return std::nullopt;
}

// Answers a request the gateway will not read further with `kind`, logs and
// counts it, then closes gently: the connection is not used again.
Task<void> RefuseAndClose(GatewayState& st, Conn& client, const wire::ClientRequest& req,
                          ErrorKind kind, std::string_view message, Clock::time_point start) {
  st.CountError(nullptr, kind);
  AccessRecord rec;
  rec.id = RequestId(req);
  rec.method = std::string(req.method());
  rec.path = std::string(req.target());
  rec.status = InfoFor(kind).status;
  rec.error = std::string(InfoFor(kind).code);
  const unsigned version = req.got_some() && req.version() == 10 ? 10 : 11;
  co_await WriteError(client, version, false, kind, message, rec.id, 5000, &rec.bytes_out);
  rec.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (st.log->enabled()) st.log->Write(rec);
  co_await LingeringClose(client);
}

// Reads the body of a request whose head is parsed. What the head alone
// decides (a missing key, an unknown route) is answered before any body byte
// is read, so an unauthenticated client costs no memory; the connection then
// closes. A client that waits for 100-continue gets it here, from the
// gateway, once the head passed. nullopt: the request is whole; else the
// refusal to send (or none, when the client is gone).
Task<std::optional<std::pair<ErrorKind, std::string>>> ReadBody(GatewayState& st, Conn& client,
                                                                wire::ClientRequest& req,
                                                                const Snapshot& snap,
                                                                bool& answered) {
  using Refusal = std::optional<std::pair<ErrorKind, std::string>>;
  req.eager(true);
  beast::error_code ec = wire::Feed(req, client.buffer(), /*header_only=*/false);
  if (ec == http::error::need_more) {
    if (auto d = DecideFromHead(ViewOf(st, snap), ViewOf(req)))
      co_return Refusal{std::pair{*d->error, d->body}};
    if (beast::iequals(req.expect(), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::const_buffer line = asio::buffer(kContinue);
      if (co_await WriteAll(client, {&line, 1}, 0)) {
        answered = true;  // nobody to answer
        co_return Refusal{};
      }
    }
    ec = co_await ReadMessage(client, req, /*header_only=*/false);
  }
  if (!ec) co_return Refusal{};
  Refusal r = ReadRefusal(snap.config, ec);
  if (!r) answered = true;  // closed or silent: nobody to answer
  co_return r;
}

Task<void> Session(GatewayState& st, Worker& wk, Socket socket) {
  struct Count {
    std::atomic<int>& n;
    ~Count() { n.fetch_sub(1); }
  } count{st.connections};
  beast::error_code ec;
  std::string client_ip = socket.remote_endpoint(ec).address().to_string();
  socket.set_option(tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);  // WriteAll writes straight to it
  Conn client(wk, std::move(socket));
  // While draining, a connection still gets one request answered (/ready
  // says 503, model requests are refused), then closes.
  for (bool more = true; more;) {
    std::shared_ptr<const Snapshot> snap = CurrentSnapshot(st, wk);
    const auto& cfg = snap->config;
    wire::ClientRequest parser(/*strip_keys=*/snap->keys.enabled(), client.text());
    parser.limit_head(cfg.max_header_bytes);
    parser.body_limit(cfg.max_body_bytes);
    parser.charge_body_to(&st.bodies);
    client.expires_after(std::chrono::milliseconds(st.draining.load()
                                                       ? std::min(cfg.timeouts.client_idle_ms, 1000)
                                                       : cfg.timeouts.client_idle_ms));
    client.idle = true;
    beast::error_code hec = co_await ReadMessage(client, parser, /*header_only=*/true);
    client.idle = false;
    const auto start = Clock::now();
    Busy busy{st.busy};
    std::optional<std::pair<ErrorKind, std::string>> refusal;
    bool gone = false;
    if (hec) {
      refusal = ReadRefusal(cfg, hec);
      gone = !refusal;
    } else if (std::string why = HeadProblem(parser); !why.empty()) {
      refusal = std::pair{ErrorKind::kBadRequest, std::move(why)};
    } else {
      refusal = co_await ReadBody(st, client, parser, *snap, gone);
    }
    client.expires_never();  // the exchange has its own deadlines
    if (gone) break;
    if (refusal) {
      co_await RefuseAndClose(st, client, parser, refusal->first, refusal->second, start);
      break;
    }
    more = co_await Handle(st, wk, client, parser, snap, client_ip, start) && !st.draining.load();
    client.text().Shrink();
  }
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
  client.socket().close(ec);
}

Task<void> AcceptLoop(GatewayState& st, Acceptor& acceptor,
                      std::vector<std::unique_ptr<Worker>>& workers) {
  size_t next = 0;
  Timer backoff(acceptor.get_executor());
  for (;;) {
    Worker& wk = *workers[next++ % workers.size()];
    auto [ec, socket] = co_await acceptor.async_accept(wk.ioc, kTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {  // e.g. out of file descriptors: do not spin
      backoff.expires_after(std::chrono::milliseconds(20));
      co_await backoff.async_wait(kTuple);
      continue;
    }
    if (st.connections.load() >= st.snapshot()->config.max_connections) continue;  // closes it
    st.connections.fetch_add(1);
    asio::co_spawn(wk.ioc, Session(st, wk, std::move(socket)), asio::detached);
  }
}

Task<void> FlushLoop(GatewayState& st, asio::io_context& ioc) {
  Timer t(ioc);
  for (;;) {
    t.expires_after(std::chrono::milliseconds(200));
    auto [ec] = co_await t.async_wait(kTuple);
    if (ec) co_return;
    st.log->Flush();
  }
}

Result<std::vector<std::pair<Backend, Endpoint>>> Resolve(const std::vector<Backend>& backends) {
  std::vector<std::pair<Backend, Endpoint>> out;
  for (const auto& b : backends) {
    CARVE_ASSIGN_OR_RETURN(Endpoint e, ParseUrl(b.url));
    out.emplace_back(b, std::move(e));
  }
  return out;
}

}  // namespace

struct Gateway::Impl {
  std::unique_ptr<GatewayState> st;
  std::vector<std::unique_ptr<Worker>> workers;  // destroyed before st
  std::unique_ptr<Acceptor> acceptor;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  uint16_t port = 0;
  std::atomic<bool> stopped{false};

  Status Listen(const GatewayConfig& c);
  void Run();
};

Status Gateway::Impl::Listen(const GatewayConfig& c) {
  beast::error_code ec;
  auto address = asio::ip::make_address(c.listen_host, ec);
  if (ec)
    return Status::InvalidArgument("listen address '" + c.listen_host + "' is not an IP address",
                                   "use e.g. 127.0.0.1, 0.0.0.0 or ::1");
  tcp::endpoint ep(address, c.listen_port);
  acceptor = std::make_unique<Acceptor>(workers[0]->ioc);
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::Error(Code::kInUse, "cannot listen on " + c.listen + ": " + ec.message(),
                         "pick another port in listen:, or stop what uses this one");
  port = acceptor->local_endpoint().port();
  return Status::Ok();
}

void Gateway::Impl::Run() {
  Worker& first = *workers[0];
  asio::co_spawn(first.ioc, AcceptLoop(*st, *acceptor, workers), asio::detached);
  asio::co_spawn(first.ioc, RunProber(*st, first), asio::detached);
  asio::co_spawn(first.ioc, FlushLoop(*st, first.ioc), asio::detached);
  for (auto& w : workers) {
    guards.push_back(asio::make_work_guard(w->ioc));
    w->thread = std::thread([io = &w->ioc] { io->run(); });
  }
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() { Stop(std::chrono::milliseconds(0)); }
uint16_t Gateway::port() const { return impl_->port; }

Result<std::unique_ptr<Gateway>> Gateway::Start(const GatewayConfig& config) {
  CARVE_ASSIGN_OR_RETURN(auto backends, Resolve(config.AllBackends()));
  CARVE_ASSIGN_OR_RETURN(auto log, AccessLog::Open(config.access_log));
  auto impl = std::make_unique<Impl>();
  impl->st = std::make_unique<GatewayState>(
      std::make_shared<const Snapshot>(Snapshot{config, KeyRing(config.keys)}));
  impl->st->log = std::move(log);
  impl->st->router.Update(backends, config.ModelLimits(), Limits{});
  unsigned n =
      config.threads > 0 ? config.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) impl->workers.push_back(std::make_unique<Worker>());
  CARVE_RETURN_IF_ERROR(impl->Listen(config));
  impl->Run();
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Status Gateway::UpdateBackends(const std::vector<Backend>& backends,
                               const std::vector<std::string>& models) {
  CARVE_ASSIGN_OR_RETURN(auto resolved, Resolve(backends));
  auto limits = impl_->st->snapshot()->config.ModelLimits();
  for (const auto& m : models) limits.try_emplace(m, Limits{});
  impl_->st->router.Update(resolved, limits, Limits{});
  return Status::Ok();
}

Status Gateway::Reload(const GatewayConfig& config) {
  const GatewayConfig& now = impl_->st->snapshot()->config;
  if (config.listen != now.listen || config.threads != now.threads ||
      config.access_log != now.access_log)
    return Status::InvalidArgument("listen, threads and access_log cannot change on reload",
                                   "restart the gateway to change them");
  CARVE_ASSIGN_OR_RETURN(auto resolved, Resolve(config.AllBackends()));
  impl_->st->set_snapshot(std::make_shared<const Snapshot>(Snapshot{config, KeyRing(config.keys)}));
  impl_->st->router.Update(resolved, config.ModelLimits(), Limits{});
  return Status::Ok();
}

Status Gateway::Drain(const std::string& url) {
  bool found = false;
  for (const auto& pool : impl_->st->router.Pools())
    for (const auto& r : pool->replicas())
      if (r->backend().url == url) pool->MarkDraining(r.get()), found = true;
  return found ? Status::Ok() : Status::NotFound("no replica at " + url);
}

void Gateway::SetExtraMetrics(std::function<std::string()> fn) {
  util::MutexLock lock(impl_->st->mu);
  impl_->st->extra_metrics = std::move(fn);
}

std::vector<double> LatencyBoundsSeconds() {
  return {Histogram::kBounds.begin(), Histogram::kBounds.end()};
}

void Gateway::SetStatusSource(std::function<std::string()> fn) {
  util::MutexLock lock(impl_->st->mu);
  impl_->st->has_status.store(static_cast<bool>(fn), std::memory_order_release);
  impl_->st->status_source = std::move(fn);
}

void Gateway::SetDemandHandler(std::function<void(const std::string& model)> fn) {
  auto shared = std::make_shared<const std::function<void(const std::string&)>>(std::move(fn));
  util::MutexLock lock(impl_->st->mu);
  impl_->st->demand = std::move(shared);
}

void Gateway::SetModelStates(std::map<std::string, std::string> states) {
  auto shared = std::make_shared<const std::map<std::string, std::string>>(std::move(states));
  util::MutexLock lock(impl_->st->mu);
  impl_->st->model_states = std::move(shared);
}

void Gateway::FailWaiting(const std::string& model, const std::string& reason) {
  if (auto pool = impl_->st->router.Find(model)) pool->FailWaiting(reason);
}

std::vector<ReplicaCounters> Gateway::Counters() const {
  std::vector<ReplicaCounters> out;
  for (const auto& pool : impl_->st->router.Pools())
    for (const auto& r : pool->replicas()) {
      ReplicaCounters c{r->backend().model, r->backend().url};
      for (const auto& e : r->requests.NonZero()) {
        c.requests += e.count;
        if (e.code >= 500) c.errors += e.count;
      }
      c.requests += r->requests.overflow();
      c.errors += r->connect_failures.load(std::memory_order_relaxed);
      c.in_flight = r->outstanding();
      c.healthy = r->healthy();
      c.draining = r->draining();
      c.tokens = r->tokens.load(std::memory_order_relaxed);
      auto d = r->duration.counts(), f = r->first_byte.counts();
      c.duration.assign(d.begin(), d.end());
      c.first_byte.assign(f.begin(), f.end());
      c.queued = pool->queue_depth();
      c.last_request = r->last_request();
      out.push_back(std::move(c));
    }
  return out;
}

std::map<std::string, int> Gateway::QueueDepths() const {
  std::map<std::string, int> out;
  for (const auto& pool : impl_->st->router.Pools()) out[pool->name()] = pool->queue_depth();
  return out;
}

namespace {

// Ends every exchange still running on the workers by closing its engine
// connection: streams then end as when an engine dies mid-stream (an SSE
// error event and the last chunk), buffered answers as a 503.
void CutUpstreams(std::vector<std::unique_ptr<Worker>>& workers) {
  for (auto& w : workers)
    asio::post(w->ioc, [wk = w.get()] {
      for (Conn* c = wk->conns; c; c = c->next())
        if (c->upstream()) c->Close();
    });
}

// Polls `done` every 5 ms until it holds or `until` passes (shutdown only).
template <typename Fn>
void WaitUntil(Fn done, Clock::time_point until) {
  while (!done() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace

void Gateway::Stop(std::chrono::milliseconds drain) {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  GatewayState& st = *impl_->st;
  st.draining.store(true);
  // The listener stays open through the drain, so /ready can say 503 and new
  // model requests get a clear refusal. Idle keep-alive connections go now;
  // busy ones finish their request.
  for (auto& w : impl_->workers)
    asio::post(w->ioc, [wk = w.get()] {
      for (Conn* c = wk->conns; c; c = c->next()) {
        beast::error_code ignored;
        if (c->idle) c->socket().cancel(ignored);
      }
    });
  auto idle = [&st] { return st.busy.load() == 0; };
  WaitUntil(idle, Clock::now() + drain);
  if (!idle()) {
    st.cutting.store(true);
    CutUpstreams(impl_->workers);
    WaitUntil(idle, Clock::now() + std::chrono::seconds(2));
  }
  for (auto& w : impl_->workers) w->ioc.stop();
  for (auto& w : impl_->workers)
    if (w->thread.joinable()) w->thread.join();
  st.router.Update({}, {}, Limits{});  // wakes (into stopped contexts) anything still queued
  impl_->guards.clear();
  impl_->acceptor.reset();
  impl_->workers.clear();
  st.log->Flush();
}

}  // namespace carve::gateway
