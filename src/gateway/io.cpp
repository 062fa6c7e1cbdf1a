// The gateway's connections and their two I/O primitives; wire.cpp does the
// framing.
#include "gateway/io.h"

#include "gateway/wire.h"
#include "gateway/worker.h"

namespace carve::gateway::net {
namespace {

// Sweeps the worker's connections every kSweepEvery while it has any.
void SweepLater(Worker& wk, const std::shared_ptr<Timer>& timer) {
  timer->expires_after(Conn::kSweepEvery);
  timer->async_wait([&wk, timer](beast::error_code ec) {
    if (ec) return;
    Conn::Sweep(wk);
    if (!wk.conns) {
      wk.sweeping = false;
      return;
    }
    SweepLater(wk, timer);
  });
}

}  // namespace

Conn::Conn(Worker& wk) : Conn(wk, Socket(wk.ioc)) { upstream_ = true; }

Conn::Conn(Worker& wk, Socket socket) : wk_(wk), socket_(std::move(socket)) {
  next_ = wk_.conns;
  if (next_) next_->prev_ = this;
  wk_.conns = this;
  if (!wk_.sweeping) {
    wk_.sweeping = true;
    SweepLater(wk_, std::make_shared<Timer>(wk_.ioc));
  }
}

Conn::~Conn() {
  if (prev_)
    prev_->next_ = next_;
  else
    wk_.conns = next_;
  if (next_) next_->prev_ = prev_;
}

void Conn::Close() {
  beast::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void Conn::Sweep(Worker& wk) {
  const auto now = Clock::now();
  // Closing only queues the completions of pending operations, so nothing
  // unlinks a connection while this walks the list.
  for (Conn* c = wk.conns; c; c = c->next_) {
    if (c->deadline_ > now) continue;
    c->deadline_ = Clock::time_point::max();
    c->timed_out_ = true;
    c->Close();
  }
}

Task<beast::error_code> WriteAll(Conn& c, std::span<const asio::const_buffer> bufs,
                                 int timeout_ms) {
  beast::error_code ec;
  size_t n = c.socket().write_some(bufs, ec);
  if (!ec && n == asio::buffer_size(bufs)) co_return ec;
  if (ec && ec != asio::error::would_block) co_return ec;
  if (ec) n = 0;
  beast::buffers_suffix<std::span<const asio::const_buffer>> rest(bufs);
  rest.consume(n);
  if (timeout_ms > 0) c.expires_after(std::chrono::milliseconds(timeout_ms));
  auto [wec, wn] = co_await asio::async_write(c.socket(), rest, kTuple);
  if (timeout_ms > 0) c.expires_never();
  co_return wec;
}

template <bool isRequest>
Task<beast::error_code> ReadMessage(Conn& c, http::basic_parser<isRequest>& parser,
                                    bool header_only) {
  beast::flat_buffer& buf = c.buffer();
  for (;;) {
    beast::error_code ec = wire::Feed(parser, buf, header_only);
    if (ec != http::error::need_more) co_return ec;
    // Small reads for a header, larger ones through a body.
    size_t want = parser.is_header_done() ? 64 << 10 : 4 << 10;
    auto [rec, n] = co_await c.socket().async_read_some(buf.prepare(want), kTuple);
    buf.commit(n);
    if (rec == asio::error::eof) co_return wire::AtEof(parser);  // n is 0 at EOF
    if (rec) co_return rec;
  }
}

template Task<beast::error_code> ReadMessage<true>(Conn&, http::basic_parser<true>&, bool);
template Task<beast::error_code> ReadMessage<false>(Conn&, http::basic_parser<false>&, bool);

}  // namespace carve::gateway::net
