// The client half of the gateway: accept, read requests, answer the gateway's
// own routes, hand model-addressed requests to the proxy, log, keep alive.
#include <array>
#include <charconv>
#include <cstring>
#include <random>

#include "gateway/exposition.h"
#include "gateway/gateway.h"
#include "gateway/handler.h"
#include "gateway/net.h"
#include "gateway/wire.h"

namespace carve::gateway {
namespace net {

Task<bool> WriteText(Conn& client, unsigned version, bool keep_alive, int status,
                     std::string_view content_type, std::string body, const std::string& request_id,
                     int write_timeout_ms,
                     const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  http::response<http::empty_body> res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, content_type);
  res.set("X-Request-Id", request_id);
  for (const auto& [k, v] : extra) res.set(k, v);
  res.keep_alive(keep_alive);
  res.content_length(body.size());
  std::string head;
  wire::AppendHead(res.base(), head);
  std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(body)};
  co_return !co_await WriteAll(client, out, write_timeout_ms);
}

Task<bool> WriteError(Conn& client, unsigned version, bool keep_alive, ErrorKind kind,
                      std::string_view message, const std::string& request_id,
                      int write_timeout_ms) {
  const ErrorInfo& info = InfoFor(kind);
  std::vector<std::pair<std::string, std::string>> extra = {{std::string(kOriginHeader), "1"}};
  if (info.retry_after_s) extra.emplace_back("Retry-After", std::to_string(info.retry_after_s));
  if (kind == ErrorKind::kUnauthorized) extra.emplace_back("WWW-Authenticate", "Bearer");
  co_return co_await WriteText(client, version, keep_alive, info.status, "application/json",
                               ErrorBody(kind, message), request_id, write_timeout_ms, extra);
}

}  // namespace net

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
  std::memcpy(buf, prefix.data(), prefix.size());
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
    std::lock_guard lock(st.mu);
    if (st.extra_metrics) extra = st.extra_metrics();
  }
  GatewayGauges g{st.connections.load(), st.draining.load()};
  return RenderMetrics(st.router, st.unrouted_errors, g, extra);
}

Decision DecideFor(GatewayState& st, const Snapshot& snap, const wire::ClientRequest& req) {
  GatewayView g{st.router,          snap.keys,         st.probed_once.load(),
                st.draining.load(), st.started_unix_s, [&st] { return MetricsText(st); }};
  RequestView r{req.method(),    req.target(),       req.authorization(),
                req.x_api_key(), req.content_type(), req.body()};
  return Decide(g, r);
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
  Decision d = DecideFor(st, *snap, req);
  if (logging) {
    rec.model = d.model;
    rec.key = d.key ? d.key->name : "";
  }
  auto pool = d.model.empty() ? nullptr : st.router.Find(d.model);
  bool ok = true;
  if (d.error) {
    st.CountError(pool.get(), *d.error);
    rec.error = std::string(InfoFor(*d.error).code);
    rec.status = d.status;
    ok = co_await WriteError(client, req.version(), keep, *d.error, d.body, rec.id,
                             cfg.timeouts.client_write_ms);
  } else if (!d.proxy) {
    rec.status = d.status;
    rec.bytes_out = d.body.size();
    ok = co_await WriteText(client, req.version(), keep, d.status, d.content_type,
                            std::move(d.body), rec.id, cfg.timeouts.client_write_ms);
  } else {
    ProxyJob job{req, keep, d.model, rec.id, client_ip, snap, pool, start};
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

// Answers a request over `limit` (header_limit or body_limit) with 431 or
// 413, then closes gently; the connection is not used again.
Task<void> RefuseTooLarge(GatewayState& st, const GatewayConfig& cfg, Conn& client,
                          beast::error_code limit) {
  const bool body = limit == http::error::body_limit;
  const auto kind = body ? ErrorKind::kBodyTooLarge : ErrorKind::kHeaderTooLarge;
  st.CountError(nullptr, kind);
  std::string what = body ? "The request body is larger than this gateway's limit of " +
                                std::to_string(cfg.max_body_bytes) +
                                " bytes; send a smaller one (operators: limits.max_body_bytes)."
                          : "The request headers are larger than this gateway's limit of " +
                                std::to_string(cfg.max_header_bytes) +
                                " bytes; send fewer or shorter ones "
                                "(operators: limits.max_header_bytes).";
  co_await WriteError(client, 11, false, kind, what, NewRequestId(), 5000);
  co_await LingeringClose(client);
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
  while (!st.draining.load()) {
    std::shared_ptr<const Snapshot> snap = CurrentSnapshot(st, wk);
    const auto& cfg = snap->config;
    wire::ClientRequest parser(/*strip_keys=*/snap->keys.enabled(), client.text());
    parser.header_limit(cfg.max_header_bytes);
    parser.body_limit(cfg.max_body_bytes);
    client.expires_after(std::chrono::milliseconds(cfg.timeouts.client_idle_ms));
    client.idle = true;
    beast::error_code hec = co_await ReadMessage(client, parser, /*header_only=*/true);
    client.idle = false;
    auto start = Clock::now();
    if (hec == http::error::header_limit || hec == http::error::body_limit) {
      co_await RefuseTooLarge(st, cfg, client, hec);
      break;
    }
    if (hec) break;
    parser.eager(true);
    beast::error_code bec =
        wire::Feed(parser, client.buffer(), /*header_only=*/false);  // usually all here
    if (bec == http::error::need_more) {
      if (beast::iequals(parser.expect(), "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::const_buffer line = asio::buffer(kContinue);
        if (co_await WriteAll(client, {&line, 1}, 0)) break;
      }
      bec = co_await ReadMessage(client, parser, /*header_only=*/false);
    }
    client.expires_never();  // the exchange has its own deadlines
    if (bec == http::error::body_limit) {
      co_await RefuseTooLarge(st, cfg, client, bec);
      break;
    }
    if (bec) break;
    if (!co_await Handle(st, wk, client, parser, snap, client_ip, start)) break;
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

Status Gateway::UpdateBackends(const std::vector<Backend>& backends) {
  CARVE_ASSIGN_OR_RETURN(auto resolved, Resolve(backends));
  impl_->st->router.Update(resolved, impl_->st->snapshot()->config.ModelLimits(), Limits{});
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

void Gateway::SetExtraMetrics(std::function<std::string()> fn) {
  std::lock_guard lock(impl_->st->mu);
  impl_->st->extra_metrics = std::move(fn);
}

void Gateway::Stop(std::chrono::milliseconds drain) {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  GatewayState& st = *impl_->st;
  st.draining.store(true);
  asio::post(impl_->workers[0]->ioc, [a = impl_->acceptor.get()] {
    beast::error_code ec;
    a->close(ec);
  });
  for (auto& w : impl_->workers)  // idle keep-alive connections go now; busy ones finish
    asio::post(w->ioc, [wk = w.get()] {
      for (Conn* c = wk->conns; c; c = c->next()) {
        beast::error_code ignored;
        if (c->idle) c->socket().cancel(ignored);
      }
    });
  auto deadline = Clock::now() + drain;
  while (st.connections.load() > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
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
