// The gateway's two I/O primitives over Beast streams; wire.cpp does the framing.
#include <boost/asio/write.hpp>

#include "gateway/net.h"
#include "gateway/wire.h"

namespace carve::gateway::net {

Task<beast::error_code> WriteAll(Stream& s, std::span<const asio::const_buffer> bufs,
                                 int timeout_ms) {
  beast::error_code ec;
  size_t n = s.socket().write_some(bufs, ec);
  if (!ec && n == asio::buffer_size(bufs)) co_return ec;
  if (ec && ec != asio::error::would_block) co_return ec;
  if (ec) n = 0;
  beast::buffers_suffix<std::span<const asio::const_buffer>> rest(bufs);
  rest.consume(n);
  if (timeout_ms > 0) s.expires_after(std::chrono::milliseconds(timeout_ms));
  auto [wec, wn] = co_await asio::async_write(s, rest, kTuple);
  co_return wec;
}

template <bool isRequest>
Task<beast::error_code> ReadMessage(Stream& s, beast::flat_buffer& buf,
                                    http::basic_parser<isRequest>& parser, bool header_only) {
  for (;;) {
    beast::error_code ec = wire::Feed(parser, buf, header_only);
    if (ec != http::error::need_more) co_return ec;
    // Small reads for a header, larger ones through a body.
    size_t want = parser.is_header_done() ? 64 << 10 : 4 << 10;
    auto [rec, n] = co_await s.async_read_some(buf.prepare(want), kTuple);
    buf.commit(n);
    if (rec == asio::error::eof) co_return wire::AtEof(parser);  // n is 0 at EOF
    if (rec) co_return rec;
  }
}

template Task<beast::error_code> ReadMessage<true>(Stream&, beast::flat_buffer&,
                                                   http::basic_parser<true>&, bool);
template Task<beast::error_code> ReadMessage<false>(Stream&, beast::flat_buffer&,
                                                    http::basic_parser<false>&, bool);

}  // namespace carve::gateway::net
