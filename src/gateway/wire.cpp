#include "gateway/wire.h"

#include <boost/beast/core/string.hpp>
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

void AppendField(std::string_view name, std::string_view value, std::string& out) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

// Appends the fields of `fields` that `keep` accepts (not the empty line).
template <class Keep>
void AppendFieldsIf(const http::fields& fields, Keep keep, std::string& out) {
  for (const auto& f : fields)
    if (keep(f)) AppendField(f.name_string(), f.value(), out);
}

bool Is(const http::fields::value_type& f, std::string_view name) {
  return beast::iequals(f.name_string(), name);
}

}  // namespace

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

void AppendUpstreamHead(const http::request_header<>& client, const UpstreamHead& up,
                        std::string& out) {
  Reserve(client, client.method_string().size() + client.target().size() + 128, out);
  out += client.method_string();
  out += ' ';
  out += client.target();
  out += " HTTP/1.1\r\n";
  AppendFieldsIf(
      client,
      [&](const http::fields::value_type& f) {
        if (IsHopByHop(f.name()) || f.name() == http::field::forwarded) return false;
        if (up.strip_keys && (f.name() == http::field::authorization || Is(f, "x-api-key")))
          return false;
        return !Is(f, "x-request-id");
      },
      out);
  AppendField("Host", up.host, out);
  AppendField("X-Request-Id", up.request_id, out);
  out += "Forwarded: for=\"";
  out += up.client_ip;
  out += "\"\r\n";
  char length[24];
  auto [end, ec] = std::to_chars(length, length + sizeof length, up.content_length);
  AppendField("Content-Length", {length, static_cast<size_t>(end - length)}, out);
  out += "\r\n";
}

void AppendRelayedHead(const http::response_header<>& engine, const RelayedHead& h,
                       std::string& out) {
  Reserve(engine, engine.reason().size() + 160, out);
  AppendVersion(h.client_version, out);
  out += ' ';
  unsigned status = engine.result_int() % 1000;
  out += static_cast<char>('0' + status / 100);
  out += static_cast<char>('0' + status / 10 % 10);
  out += static_cast<char>('0' + status % 10);
  out += ' ';
  out += engine.reason();
  out += "\r\n";
  AppendFieldsIf(
      engine,
      [&](const http::fields::value_type& f) {
        if (IsHopByHop(f.name()) || Is(f, "x-request-id")) return false;
        return !(h.event_stream &&
                 (f.name() == http::field::cache_control || Is(f, "x-accel-buffering")));
      },
      out);
  AppendField("X-Request-Id", h.request_id, out);
  if (h.event_stream) {
    AppendField("Cache-Control", "no-cache", out);
    AppendField("X-Accel-Buffering", "no", out);
  }
  if (h.chunked) {
    AppendField("Transfer-Encoding", "chunked", out);
  } else if (h.content_length) {
    char length[24];
    auto [end, ec] = std::to_chars(length, length + sizeof length, *h.content_length);
    AppendField("Content-Length", {length, static_cast<size_t>(end - length)}, out);
  }
  if (h.client_version >= 11 && !h.keep_alive) AppendField("Connection", "close", out);
  if (h.client_version < 11 && h.keep_alive) AppendField("Connection", "keep-alive", out);
  out += "\r\n";
}

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
