#include "gateway/wire.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <cstring>

#include "gateway/errors.h"

namespace carve::gateway::wire {
namespace {

// A head built in two passes: the pieces and their total size first, then one
// resize and a copy per piece, so the string grows once.
class Head {
 public:
  void Add(std::string_view s) {
    pieces_.push_back({s, {}, false});
    size_ += s.size();
  }
  void Field(std::string_view name, std::string_view value) {
    pieces_.push_back({name, value, true});
    size_ += name.size() + value.size() + 4;
  }
  void NumberField(std::string_view name, uint64_t n) {  // once per head
    auto [end, ec] = std::to_chars(number_, number_ + sizeof number_, n);
    Field(name, {number_, static_cast<size_t>(end - number_)});
  }
  void Version(unsigned version) {  // once per head
    Add(version == 11 ? "HTTP/1.1" : version == 10 ? "HTTP/1.0" : Other(version));
  }
  void AppendTo(std::string& out) const {
    size_t at = out.size();
    out.resize(at + size_);
    char* p = out.data() + at;
    for (const Piece& piece : pieces_) {
      std::memcpy(p, piece.text.data(), piece.text.size());
      p += piece.text.size();
      if (!piece.field) continue;
      *p++ = ':';
      *p++ = ' ';
      std::memcpy(p, piece.value.data(), piece.value.size());
      p += piece.value.size();
      *p++ = '\r';
      *p++ = '\n';
    }
  }

 private:
  struct Piece {
    std::string_view text;   // a field's name, or any text
    std::string_view value;  // a field's value
    bool field;
  };
  std::string_view Other(unsigned version) {
    other_[5] = static_cast<char>('0' + version / 10 % 10);
    other_[7] = static_cast<char>('0' + version % 10);
    return {other_, 8};
  }
  boost::container::small_vector<Piece, 32> pieces_;
  size_t size_ = 0;
  char other_[8] = {'H', 'T', 'T', 'P', '/', '0', '.', '0'};
  char number_[24];
};

// "Name: value\r\n" at the end of `out`.
void AppendFieldLine(beast::string_view name, beast::string_view value, std::string& out) {
  out.append(name.data(), name.size());
  out += ": ";
  out.append(value.data(), value.size());
  out += "\r\n";
}

// Removes from `fields` ("Name: value\r\n"...) every field that `connection`
// (a Connection field's comma-separated values) names, but for the options
// that are not field names, and Content-Type: the gateway picks the model
// from the body as that field says to read it, so the engine reads the same
// (RFC 9110 7.6.1 forbids naming such end-to-end fields anyway).
void RemoveNamedFields(std::string_view connection, std::string& fields) {
  while (!connection.empty()) {
    size_t comma = connection.find(',');
    std::string_view token = connection.substr(0, comma);
    connection.remove_prefix(comma == std::string_view::npos ? connection.size() : comma + 1);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (token.empty() || beast::iequals(token, "close") || beast::iequals(token, "keep-alive") ||
        beast::iequals(token, "content-type"))
      continue;
    for (size_t at = 0; at < fields.size();) {
      size_t end = fields.find("\r\n", at) + 2;
      std::string_view line(fields.data() + at, end - at);
      if (line.size() > token.size() && line[token.size()] == ':' &&
          beast::iequals(line.substr(0, token.size()), token))
        fields.erase(at, end - at);
      else
        at = end;
    }
  }
}

// Keeps every Connection field's values, comma-joined.
void AddConnection(beast::string_view value, std::string& to) {
  if (!to.empty()) to += ',';
  to.append(value.data(), value.size());
}

// "http://host:port/path?q" → "/path?q" (RFC 9112 3.2.2: a server accepts the
// absolute form); anything else as it is.
std::string_view OriginForm(std::string_view target) {
  size_t scheme = target.find("://");
  if (scheme == std::string_view::npos || target.front() == '/') return target;
  std::string_view name = target.substr(0, scheme);
  if (!beast::iequals(name, "http") && !beast::iequals(name, "https")) return target;
  size_t path = target.find_first_of("/?", scheme + 3);
  if (path == std::string_view::npos) return "/";
  return target.substr(path);  // "?q" alone: the caller puts "/" before it
}

// "200 " for a status line.
std::string_view StatusCode(unsigned status, char (&scratch)[4]) {
  status %= 1000;
  scratch[0] = static_cast<char>('0' + status / 100);
  scratch[1] = static_cast<char>('0' + status / 10 % 10);
  scratch[2] = static_cast<char>('0' + status % 10);
  scratch[3] = ' ';
  return {scratch, 4};
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
    case http::field::proxy_authorization:
    case http::field::proxy_authenticate:
    case http::field::host:
    case http::field::content_length:
      return true;
    default:
      return false;
  }
}

ClientRequest::ClientRequest(bool strip_keys, MessageText& text)
    : BodyCollector<true>(text.body), strip_keys_(strip_keys), t_(text) {
  for (std::string* s : {&t_.method, &t_.target, &t_.authorization, &t_.x_api_key, &t_.content_type,
                         &t_.request_id, &t_.expect, &t_.connection, &t_.fields})
    s->clear();
}

void ClientRequest::on_request_impl(http::verb, beast::string_view method,
                                    beast::string_view target, int version, beast::error_code& ec) {
  if (!CountHead(method.size() + target.size() + 12, ec)) return;
  t_.method.assign(method.data(), method.size());
  std::string_view origin = OriginForm({target.data(), target.size()});
  if (origin.empty() || origin.front() == '?') t_.target = "/";
  t_.target.append(origin.data(), origin.size());
  version_ = static_cast<unsigned>(version);
}

void ClientRequest::on_header_impl(beast::error_code&) {
  if (!t_.connection.empty()) RemoveNamedFields(t_.connection, t_.fields);
}

void ClientRequest::on_field_impl(http::field name, beast::string_view name_string,
                                  beast::string_view value, beast::error_code& ec) {
  if (!CountHead(name_string.size() + value.size() + 4, ec) || in_trailer()) return;
  auto keep_first = [&](bool& seen, std::string& to) {
    if (!seen) to.assign(value.data(), value.size()), seen = true;
  };
  bool key = false;
  switch (name) {
    case http::field::authorization:
      keep_first(seen_authorization_, t_.authorization), key = true;
      break;
    case http::field::content_type:
      keep_first(seen_content_type_, t_.content_type);
      break;
    case http::field::expect:
      keep_first(seen_expect_, t_.expect);
      return;  // the gateway answers 100-continue itself; never the engine's
    case http::field::host:
      ++host_fields_;
      return;  // the gateway writes the engine's
    case http::field::connection:
      AddConnection(value, t_.connection);
      return;
    case http::field::forwarded:
      return;  // the gateway writes its own
    default:
      if (IsHopByHop(name)) return;
      if (name == http::field::unknown) {  // neither is a field Beast knows
        if (beast::iequals(name_string, "x-request-id")) {
          keep_first(seen_request_id_, t_.request_id);
          return;  // the gateway writes its own
        }
        if (beast::iequals(name_string, "x-api-key"))
          keep_first(seen_api_key_, t_.x_api_key), key = true;
      }
  }
  if (key && strip_keys_) return;
  AppendFieldLine(name_string, value, t_.fields);
}

void AppendUpstreamHead(const ClientRequest& client, const UpstreamHead& up, std::string& out) {
  Head h;
  h.Add(client.method());
  h.Add(" ");
  h.Add(client.target());
  h.Add(" HTTP/1.1\r\n");
  h.Add(client.forwarded_fields());
  h.Field("Host", up.host);
  h.Field("X-Request-Id", up.request_id);
  h.Add("Forwarded: for=\"");
  h.Add(up.client_ip);
  h.Add("\"\r\n");
  h.NumberField("Content-Length", up.content_length);
  h.Add("\r\n");
  h.AppendTo(out);
}

void AppendHead(const http::response_header<>& res, std::string& out) {
  Head h;
  char code[4];
  h.Version(res.version());
  h.Add(" ");
  h.Add(StatusCode(res.result_int(), code));
  h.Add(res.reason());
  h.Add("\r\n");
  for (const auto& f : res) h.Field(f.name_string(), f.value());
  h.Add("\r\n");
  h.AppendTo(out);
}

EngineAnswer::EngineAnswer(MessageText& text) : BodyCollector<false>(text.body), t_(text) {
  t_.reason.clear();
  t_.connection.clear();
  t_.fields.clear();
  t_.cache_fields.clear();
}

void EngineAnswer::on_response_impl(int code, beast::string_view reason, int,
                                    beast::error_code& ec) {
  if (!CountHead(reason.size() + 15, ec)) return;
  status_ = code;
  t_.reason.assign(reason.data(), reason.size());
}

void EngineAnswer::on_header_impl(beast::error_code&) {
  if (t_.connection.empty()) return;
  RemoveNamedFields(t_.connection, t_.fields);
  RemoveNamedFields(t_.connection, t_.cache_fields);
}

void EngineAnswer::on_field_impl(http::field name, beast::string_view name_string,
                                 beast::string_view value, beast::error_code& ec) {
  if (!CountHead(name_string.size() + value.size() + 4, ec) || in_trailer()) return;
  if (name == http::field::connection) return AddConnection(value, t_.connection);
  if (IsHopByHop(name) || beast::iequals(name_string, "x-request-id") ||
      beast::iequals(name_string, kOriginHeader))
    return;
  if (name == http::field::content_type)
    event_stream_ = value.size() >= 17 && beast::iequals(value.substr(0, 17), "text/event-stream");
  const bool caching =
      name == http::field::cache_control || beast::iequals(name_string, "x-accel-buffering");
  AppendFieldLine(name_string, value, caching ? t_.cache_fields : t_.fields);
}

void EngineAnswer::AppendHead(const RelayedHead& r, std::string& out) const {
  Head h;
  char code[4];
  h.Version(r.client_version);
  h.Add(" ");
  h.Add(StatusCode(status_, code));
  h.Add(t_.reason);
  h.Add("\r\n");
  h.Add(t_.fields);
  if (!r.event_stream) h.Add(t_.cache_fields);
  // The gateway's own fields, then the empty line.
  h.Field("X-Request-Id", r.request_id);
  if (r.event_stream) {
    h.Field("Cache-Control", "no-cache");
    h.Field("X-Accel-Buffering", "no");
  }
  if (r.chunked) {
    h.Field("Transfer-Encoding", "chunked");
  } else if (r.content_length) {
    h.NumberField("Content-Length", *r.content_length);
  }
  if (r.client_version >= 11 && !r.keep_alive) h.Field("Connection", "close");
  if (r.client_version < 11 && r.keep_alive) h.Field("Connection", "keep-alive");
  h.Add("\r\n");
  h.AppendTo(out);
}

bool BodyBudget::Take(uint64_t n) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (n > limit_ - std::min(used, limit_)) return false;
  } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
  return true;
}

void MessageText::Shrink() {
  constexpr size_t kKeep = 256 << 10;  // a typical chat request's body, and then some
  if (body.capacity() > kKeep) std::string().swap(body);
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
    if (ec && ec != http::error::need_more) return ec;
    // An eager parser goes on past the header, and says need_more when the body
    // piece after it is cut: the header is still done.
    if (reached()) return {};
    if (ec || used == 0) return http::error::need_more;  // the rest of a piece is not here yet
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
