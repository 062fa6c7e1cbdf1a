#include "gateway/wire.h"

#include <boost/beast/http/error.hpp>
#include <charconv>

namespace carve::gateway::wire {
namespace {

void AppendVersion(unsigned version, std::string& out) {
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

// Reserves room for the fields and the start line, so a head is one allocation.
void Reserve(const http::fields& fields, size_t start_line, std::string& out) {
  size_t n = start_line + 2;
  for (const auto& f : fields) n += f.name_string().size() + f.value().size() + 4;
  out.reserve(out.size() + n);
}

void AppendFields(const http::fields& fields, std::string& out) {
  for (const auto& f : fields) {
    out += f.name_string();
    out += ": ";
    out += f.value();
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

void AppendHead(const http::request_header<>& h, std::string& out) {
  Reserve(h, h.method_string().size() + h.target().size() + 11, out);
  out += h.method_string();
  out += ' ';
  out += h.target();
  out += ' ';
  AppendVersion(h.version(), out);
  out += "\r\n";
  AppendFields(h, out);
}

void AppendHead(const http::response_header<>& h, std::string& out) {
  Reserve(h, h.reason().size() + 15, out);
  AppendVersion(h.version(), out);
  char code[4];
  unsigned status = h.result_int() % 1000;
  code[0] = static_cast<char>('0' + status / 100);
  code[1] = static_cast<char>('0' + status / 10 % 10);
  code[2] = static_cast<char>('0' + status % 10);
  code[3] = ' ';
  out += ' ';
  out.append(code, 4);
  out += h.reason();
  out += "\r\n";
  AppendFields(h, out);
}

std::string_view ChunkSizeLine(size_t n, char (&scratch)[24]) {
  auto [end, ec] = std::to_chars(scratch, scratch + 20, n, 16);
  *end++ = '\r';
  *end++ = '\n';
  return {scratch, static_cast<size_t>(end - scratch)};
}

template <bool isRequest>
beast::error_code Feed(http::basic_parser<isRequest>& parser, beast::flat_buffer& buf,
                       bool header_only) {
  auto reached = [&] { return header_only ? parser.is_header_done() : parser.is_done(); };
  while (!reached()) {
    if (buf.size() == 0) return http::error::need_more;
    beast::error_code ec;
    size_t used = parser.put(buf.data(), ec);
    buf.consume(used);
    if (ec) return ec;  // need_more included: the rest of a line or header is not here yet
    if (used == 0) return http::error::need_more;
  }
  return {};
}

template <bool isRequest>
beast::error_code AtEof(http::basic_parser<isRequest>& parser) {
  if (!parser.got_some()) return http::error::end_of_stream;
  beast::error_code ec;
  parser.put_eof(ec);
  if (!ec && !parser.is_done()) ec = http::error::partial_message;
  return ec;
}

template beast::error_code Feed<true>(http::basic_parser<true>&, beast::flat_buffer&, bool);
template beast::error_code Feed<false>(http::basic_parser<false>&, beast::flat_buffer&, bool);
template beast::error_code AtEof<true>(http::basic_parser<true>&);
template beast::error_code AtEof<false>(http::basic_parser<false>&);

}  // namespace carve::gateway::wire
