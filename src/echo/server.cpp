// The echo engine's server: Beast over one io_context per thread, like the
// gateway, but sharing none of its code (echo depends on util only).
//
// It keeps a log of the last requests with their outcome and the moment it
// noticed the client close the connection, on CLOCK_MONOTONIC, served at
// GET /echo/requests. The cancellation tests read it to check that the gateway
// closed the upstream connection promptly after its own client left.
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <fstream>
#include <thread>

#include "echo/engine.h"
#include "util/activity_file.h"
#include "util/atomic_file.h"
#include "util/mutex.h"

namespace carve::echo {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

struct LogEntry {
  std::string id, path, model, outcome;
  bool stream = false;
  int64_t start_ns = 0, end_ns = 0;
};

// The last kKeep model requests; thread-safe.
class RequestLog {
 public:
  size_t Begin(LogEntry e) {
    util::MutexLock lock(mu_);
    if (entries_.size() == kKeep) entries_.pop_front(), ++base_;
    entries_.push_back(std::move(e));
    return base_ + entries_.size() - 1;
  }
  void End(size_t seq, std::string outcome) {
    util::MutexLock lock(mu_);
    if (seq < base_) return;
    auto& e = entries_[seq - base_];
    e.outcome = std::move(outcome);
    e.end_ns = MonotonicNs();
  }
  std::string Json() const {
    boost::json::array a;
    util::MutexLock lock(mu_);
    for (const auto& e : entries_)
      a.push_back(boost::json::object{{"id", e.id},
                                      {"path", e.path},
                                      {"model", e.model},
                                      {"stream", e.stream},
                                      {"outcome", e.outcome},
                                      {"start_ns", e.start_ns},
                                      {"end_ns", e.end_ns}});
    return boost::json::serialize(boost::json::object{{"requests", std::move(a)}});
  }

 private:
  static constexpr size_t kKeep = 4096;
  mutable util::Mutex mu_;
  std::deque<LogEntry> entries_ GUARDED_BY(mu_);
  size_t base_ GUARDED_BY(mu_) = 0;  // sequence number of entries_.front()
};

// Notices the client closing while the engine "generates".
struct Watch {
  asio::steady_timer* timer = nullptr;
  bool closed = false;
  bool active = true;
};

void StartWatch(beast::tcp_stream& s, const std::shared_ptr<Watch>& w) {
  s.socket().async_wait(tcp::socket::wait_read, [&s, w](beast::error_code ec) {
    if (!w->active || ec) return;
    char c;
    ssize_t n = ::recv(s.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return StartWatch(s, w);
    w->closed = true;
    if (w->timer) w->timer->cancel();
  });
}

// Waits `ms` unless the client leaves first; false if it left.
asio::awaitable<bool> Pause(asio::steady_timer& t, Watch& w, int ms) {
  if (w.closed) co_return false;
  if (ms <= 0) co_return true;
  t.expires_after(std::chrono::milliseconds(ms));
  co_await t.async_wait(kTuple);
  co_return !w.closed;
}

asio::awaitable<bool> SendStream(beast::tcp_stream& s, const EchoReply& r, unsigned version,
                                 bool keep, Watch& w, asio::steady_timer& t) {
  http::response<http::empty_body> res{http::status::ok, version};
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-cache");
  res.chunked(true);
  res.keep_alive(keep);
  http::response_serializer<http::empty_body> sr{res};
  auto [hec, hn] = co_await http::async_write_header(s, sr, kTuple);
  if (hec) co_return false;
  for (const auto& e : r.events) {
    if (!co_await Pause(t, w, e.delay_ms)) co_return false;
    auto [ec, n] = co_await asio::async_write(s, http::make_chunk(asio::buffer(e.data)), kTuple);
    if (ec) co_return false;
  }
  auto [ec, n] = co_await asio::async_write(s, http::make_chunk_last(), kTuple);
  co_return !ec;
}

asio::awaitable<bool> SendWhole(beast::tcp_stream& s, const EchoReply& r, unsigned version,
                                bool keep, Watch& w, asio::steady_timer& t) {
  if (!co_await Pause(t, w, r.delay_ms)) co_return false;
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::content_type, r.content_type);
  res.body() = r.body;
  res.keep_alive(keep);
  res.prepare_payload();
  auto [ec, n] = co_await http::async_write(s, res, kTuple);
  co_return !ec;
}

struct Engine {
  const EchoOptions& opts;
  RequestLog log;
  std::unique_ptr<ActivityWriter> activity;  // null without opts.activity_file
};

// Its device failed (a fault file): the engine dies at once, as a process
// whose CUDA context is lost does. No request it holds is answered (a gateway
// retries those elsewhere); its exit status and stderr say why.
[[noreturn]] void DieOfFault(const std::string& fault) {
  std::fprintf(stderr, "engine died: %s\n", CudaFaultMessage(fault).c_str());
  std::_Exit(1);
}

asio::awaitable<bool> Serve(Engine& eng, beast::tcp_stream& s,
                            http::request<http::string_body>& req) {
  bool keep = req.keep_alive();
  if (req.method() == http::verb::get && req.target() == "/echo/requests") {
    EchoReply r;
    r.body = eng.log.Json();
    Watch w;
    asio::steady_timer t(s.get_executor());
    co_return co_await SendWhole(s, r, req.version(), keep, w, t) && keep;
  }
  if (auto fault = ReadFault(eng.opts.fault_file, eng.opts.device)) DieOfFault(*fault);
  EchoReply r = EchoRespond(eng.opts, req.method_string(), req.target(), req.body());
  if (req.method() != http::verb::post) {  // probes and listings stay out of the log
    Watch w;
    asio::steady_timer t(s.get_executor());
    co_return co_await SendWhole(s, r, req.version(), keep, w, t) && keep;
  }
  size_t seq = eng.log.Begin({std::string(req["X-Request-Id"]), std::string(req.target()), r.model,
                              "in_progress", r.stream, MonotonicNs(), 0});
  auto w = std::make_shared<Watch>();
  asio::steady_timer t(s.get_executor());
  w->timer = &t;
  StartWatch(s, w);
  bool ok = r.stream ? co_await SendStream(s, r, req.version(), keep, *w, t)
                     : co_await SendWhole(s, r, req.version(), keep, *w, t);
  w->active = false;
  w->timer = nullptr;
  beast::error_code ignored;
  s.socket().cancel(ignored);
  eng.log.End(seq, ok ? "completed" : "client_closed");
  if (eng.activity) eng.activity->Add(r.prompt_tokens, r.completion_tokens);
  co_return ok&& keep;
}

asio::awaitable<void> Session(Engine& eng, tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream s(std::move(socket));
  beast::flat_buffer buf;
  for (;;) {
    http::request_parser<http::string_body> p;
    p.body_limit(64 << 20);
    auto [rec, n] = co_await http::async_read(s, buf, p, kTuple);
    if (rec) break;
    auto req = p.release();
    if (!co_await Serve(eng, s, req)) break;
  }
  s.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> Accept(Engine& eng, tcp::acceptor& a,
                             std::vector<std::unique_ptr<asio::io_context>>& iocs) {
  for (size_t next = 0;; ++next) {
    auto& ioc = *iocs[next % iocs.size()];
    auto [ec, socket] = co_await a.async_accept(ioc, kTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (!ec) asio::co_spawn(ioc, Session(eng, std::move(socket)), asio::detached);
  }
}

Status WritePortFile(const std::string& path, uint16_t port) {
  if (path.empty()) return Status::Ok();
  // A reader sees no file or the whole port, never half of it.
  return WriteFileAtomically(path, std::to_string(port) + "\n", /*durable=*/false);
}

Result<tcp::acceptor> Listen(asio::io_context& ioc, const EchoOptions& o) {
  beast::error_code ec;
  auto address = asio::ip::make_address(o.host, ec);
  if (ec) return Status::InvalidArgument("--host '" + o.host + "' is not an IP address");
  tcp::acceptor a(ioc);
  tcp::endpoint ep(address, o.port);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Status::Error(
        Code::kInUse,
        "cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message(),
        "use --port 0 to pick a free port");
  return a;
}

}  // namespace

Status RunEchoEngine(const EchoOptions& o) {
  // A failed device: CUDA would not initialise, so neither does the engine.
  if (auto fault = ReadFault(o.fault_file, o.device))
    return Status::Error(Code::kUnknown,
                         "cannot start: " + CudaFaultMessage(*fault) + " on device " +
                             (o.device.empty() ? "-" : o.device),
                         "The GPU instance has failed (" + o.fault_file +
                             " says so); run the engine on another slice, or heal the "
                             "simulated one: carve sim fail STATE --clear.");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (o.startup_delay_ms > 0) {  // "loading the model": a stop meanwhile ends it at once
    timespec load{o.startup_delay_ms / 1000, (o.startup_delay_ms % 1000) * 1'000'000L};
    if (sigtimedwait(&set, nullptr, &load) > 0) return Status::Ok();
  }
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  for (int i = 0; i < std::max(1, o.threads); ++i)
    iocs.push_back(std::make_unique<asio::io_context>(1));
  CARVE_ASSIGN_OR_RETURN(tcp::acceptor acceptor, Listen(*iocs[0], o));
  uint16_t port = acceptor.local_endpoint().port();
  Engine eng{o, {}, nullptr};
  if (!o.activity_file.empty()) {
    CARVE_ASSIGN_OR_RETURN(eng.activity, ActivityWriter::Open(o.activity_file));
  }
  asio::co_spawn(*iocs[0], Accept(eng, acceptor, iocs), asio::detached);
  std::string models;
  for (const auto& m : o.models) models += (models.empty() ? "" : ",") + m;
  std::printf("echo engine listening on %s:%u models=%s device=%s\n", o.host.c_str(), port,
              models.c_str(), o.device.empty() ? "-" : o.device.c_str());
  std::fflush(stdout);
  CARVE_RETURN_IF_ERROR(WritePortFile(o.port_file, port));
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& ioc : iocs) {
    guards.push_back(asio::make_work_guard(*ioc));
    threads.emplace_back([io = ioc.get()] { io->run(); });
  }
  int sig = 0;
  sigwait(&set, &sig);
  for (auto& ioc : iocs) ioc->stop();
  for (auto& t : threads) t.join();
  return Status::Ok();
}

}  // namespace carve::echo
