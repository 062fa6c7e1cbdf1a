// libFuzzer target: an engine's answer as the gateway reads and relays it.
// The bytes arrive in pieces cut where the fuzzer says (wire::Feed after each,
// header first as the proxy reads it, then wire::AtEof); the body is taken
// from the parser as the relay takes it; the head the client would get is
// built by EngineAnswer::AppendHead. Invariants, each a trap when broken:
//  - the relayed head is a status line and "Name: value" lines, no bare CR,
//    LF or NUL anywhere (no header injection), and ends with an empty line;
//  - no connection-scoped field of the engine's is relayed, and exactly the
//    framing the gateway asked for is written (one field, or none for an
//    answer whose end is the close), with X-Request-Id the gateway's;
//  - the engine's other fields are relayed unchanged and in order;
//  - cutting the bytes changes nothing: status, outcome and body bytes equal
//    those of Beast's own message parser given the whole answer at once.
// Interim (1xx) answers are left to the proxy: whatever EngineAnswer does
// with them, only the first three invariants are held against them.
//
// Input: byte 0 is options (bit 0: the client speaks HTTP/1.0, bit 1: the
// client is leaving), byte 1 % 8 the number of cuts, then one byte per cut,
// the length of the piece before it; the rest is the engine's answer.
#include <algorithm>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/wire.h"

namespace beast = boost::beast;
namespace http = beast::http;
namespace wire = carve::gateway::wire;

namespace {

constexpr std::string_view kRequestId = "gw-fuzz";

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// How the proxy sets up its parser (proxy.cpp, TryReplica).
template <class Parser>
void Limit(Parser& p) {
  p.header_limit(64 << 10);
  p.body_limit(boost::none);
  p.eager(true);
}

void Put(beast::flat_buffer& buf, std::string_view bytes) {
  auto dst = buf.prepare(bytes.size());
  if (!bytes.empty()) std::memcpy(dst.data(), bytes.data(), bytes.size());
  buf.commit(bytes.size());
}

// The reference: Beast's message parser given the whole answer at once.
struct Reference {
  bool ok = false;
  http::response_parser<http::dynamic_body> parser;  // no reserve of a huge Content-Length
  http::fields head;  // the fields of the head only: the parser adds a chunked body's trailers
};
void ParseWhole(std::string_view answer, Reference& ref) {
  Limit(ref.parser);
  ref.parser.eager(false);  // stops after the head, before any trailers
  beast::flat_buffer buf;
  Put(buf, answer);
  beast::error_code ec = wire::Feed(ref.parser, buf, true);
  if (ref.parser.is_header_done()) ref.head = ref.parser.get().base();
  ref.parser.eager(true);
  if (!ec && !ref.parser.is_done()) ec = wire::Feed(ref.parser, buf, false);
  if (ec == http::error::need_more) ec = wire::AtEof(ref.parser);
  ref.ok = !ec && ref.parser.is_done();
}

// What the gateway does with the same bytes, cut into `pieces`.
struct Relayed {
  bool ok = false;
  bool head_built = false;
  std::string head, body;
  bool keep_alive = true;
  bool event_stream = false;
  bool chunked = false;
  std::optional<uint64_t> content_length;
};
// The relay's choice (relay.cpp): answers of known length whole, the rest
// streamed as soon as their header is parsed.
bool Bounded(const wire::EngineAnswer& answer) {
  return !answer.event_stream() && answer.content_length().has_value();
}

// The head the relay writes (relay.cpp, ClientHead): a bounded answer's with
// its length, a stream's chunked to an HTTP/1.1 client, else ending at the close.
void BuildHead(const wire::EngineAnswer& answer, unsigned client_version, bool keep_alive,
               Relayed& out) {
  const bool bounded = Bounded(answer);
  out.chunked = !bounded && client_version >= 11;
  if (bounded) out.content_length = out.body.size();
  out.keep_alive = keep_alive && (bounded || client_version >= 11);
  out.event_stream = answer.event_stream();
  answer.AppendHead({.client_version = client_version,
                     .request_id = kRequestId,
                     .keep_alive = out.keep_alive,
                     .event_stream = answer.event_stream(),
                     .chunked = out.chunked,
                     .content_length = out.content_length},
                    out.head);
  out.head_built = true;
}

void Relay(const std::vector<std::string_view>& pieces, unsigned client_version, bool keep_alive,
           Relayed& out) {
  wire::MessageText text;
  wire::EngineAnswer answer(text);
  Limit(answer);
  beast::flat_buffer buf;
  beast::error_code ec;
  auto take = [&] {
    out.body += answer.body();  // the relay writes what was parsed, then clears it
    answer.body().clear();
    if (answer.is_header_done() && !out.head_built && !Bounded(answer))
      BuildHead(answer, client_version, keep_alive, out);
  };
  for (std::string_view piece : pieces) {
    // A socket read gives at least one byte (EOF goes to AtEof below), and
    // Beast's parser may not be handed the same bytes again after need_more
    // in a last chunk's trailers (an assertion in basic_parser): no empty piece.
    if (piece.empty()) continue;
    Put(buf, piece);
    ec = wire::Feed(answer, buf, /*header_only=*/!answer.is_header_done());
    // A bounded answer is read on at once (RelayBuffered's ReadMessage); a
    // stream's when more bytes came (RelayStream): Beast's parser wants more
    // bytes each time it said need_more in a chunk's header.
    if (!ec && !answer.is_done() && Bounded(answer)) ec = wire::Feed(answer, buf, false);
    take();
    if ((ec && ec != http::error::need_more) || answer.is_done()) break;
  }
  if (!answer.is_done() && (!ec || ec == http::error::need_more)) {
    ec = wire::AtEof(answer);
    take();
  }
  out.ok = !ec && answer.is_done();
  if (answer.is_header_done() && !out.head_built)
    BuildHead(answer, client_version, keep_alive, out);
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool Is(std::string_view name, std::string_view what) { return beast::iequals(name, what); }

// Fields that belong to one connection (RFC 9110 7.6.1), the framing the
// gateway writes itself, and the request-only ones a response should not
// carry on: an engine's are never relayed.
bool MustNotRelay(std::string_view name) {
  for (std::string_view f : {"connection", "proxy-connection", "keep-alive", "te", "trailer",
                             "transfer-encoding", "upgrade", "content-length", "host", "expect",
                             "proxy-authenticate", "proxy-authorization", "x-carve-gateway-error"})
    if (Is(name, f)) return true;
  return false;
}

struct Field {
  std::string_view name, value;
};

// Splits a relayed head into its status line and fields, trapping on any line
// that is not "Name: value" without CR, LF or NUL.
std::vector<Field> SplitHead(std::string_view head, std::string_view& status_line) {
  Check(head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n");
  head.remove_suffix(2);
  std::vector<Field> fields;
  bool first = true;
  while (!head.empty()) {
    size_t eol = head.find("\r\n");
    Check(eol != std::string_view::npos);
    std::string_view line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    for (char c : line) Check(c != '\r' && c != '\n' && c != '\0');
    if (first) {
      status_line = line, first = false;
      continue;
    }
    size_t colon = line.find(": ");
    Check(colon != std::string_view::npos && colon > 0);
    for (char c : line.substr(0, colon)) Check(IsTokenChar(c));
    fields.push_back({line.substr(0, colon), line.substr(colon + 2)});
  }
  Check(!first);
  return fields;
}

void CheckHead(const Relayed& r, unsigned client_version) {
  std::string_view status_line;
  std::vector<Field> fields = SplitHead(r.head, status_line);
  Check(status_line.substr(0, 9) == (client_version == 10 ? "HTTP/1.0 " : "HTTP/1.1 "));
  // Connection only where the version's default is not what the gateway does.
  std::string_view connection = client_version >= 11 && !r.keep_alive ? "close"
                                : client_version < 11 && r.keep_alive ? "keep-alive"
                                                                      : "";
  int framing = 0, request_ids = 0, connections = 0;
  for (const Field& f : fields) {
    if (Is(f.name, "x-request-id")) {
      Check(f.value == kRequestId), ++request_ids;
    } else if (Is(f.name, "transfer-encoding")) {
      Check(r.chunked && f.value == "chunked"), ++framing;
    } else if (Is(f.name, "content-length")) {
      Check(r.content_length && f.value == std::to_string(*r.content_length)), ++framing;
    } else if (Is(f.name, "connection")) {
      Check(f.value == connection), ++connections;
    } else {
      Check(!MustNotRelay(f.name));
    }
  }
  Check(request_ids == 1 && connections == (connection.empty() ? 0 : 1));
  Check(framing == (r.chunked || r.content_length ? 1 : 0));
}

bool IsCacheField(std::string_view name) {
  return Is(name, "cache-control") || Is(name, "x-accel-buffering");
}

// Field values by lower-case name, in the order given.
using FieldsByName = std::map<std::string, std::vector<std::string_view>>;
void Add(FieldsByName& to, std::string_view name, std::string_view value) {
  std::string key(name);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  to[key].push_back(value);
}

// The engine's end-to-end fields (less those its Connection names) are relayed
// as they came and nothing else is
// added but the gateway's own (X-Request-Id, framing, Connection, and an event
// stream's cache fields, which replace the engine's). Compared by name: Beast's
// field table keeps fields of one name in order, not fields of different names.
// The names the engine's Connection fields list (but close, keep-alive and
// Content-Type, which the gateway keeps): those fields stay on the engine's hop.
bool NamedByConnection(std::string_view name, const http::fields& engine) {
  if (Is(name, "content-type")) return false;
  for (const auto& f : engine) {
    if (!Is(f.name_string(), "connection")) continue;
    for (auto token : http::token_list(f.value()))
      if (Is(token, name)) return true;
  }
  return false;
}

void CheckRelayedFields(const Relayed& r, const http::fields& engine) {
  auto gateways = [&](std::string_view name) {
    return Is(name, "x-request-id") || (r.event_stream && IsCacheField(name));
  };
  FieldsByName expected, relayed;
  for (const auto& f : engine)
    if (!MustNotRelay(f.name_string()) && !gateways(f.name_string()) &&
        !NamedByConnection(f.name_string(), engine))
      Add(expected, f.name_string(), f.value());
  std::string_view status_line;
  for (const Field& f : SplitHead(r.head, status_line))
    if (!MustNotRelay(f.name) && !gateways(f.name)) Add(relayed, f.name, f.value);
  Check(relayed == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const unsigned client_version = data[0] & 1 ? 10 : 11;
  const bool keep_alive = !(data[0] & 2);
  size_t cuts = data[1] % 8, at = 2;
  std::vector<size_t> lengths;
  for (; cuts > 0 && at < size; --cuts) lengths.push_back(data[at++]);
  std::string_view answer(reinterpret_cast<const char*>(data) + at, size - at);
  std::vector<std::string_view> pieces;
  std::string_view rest = answer;
  for (size_t n : lengths) {
    n = std::min(n, rest.size());
    pieces.push_back(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  pieces.push_back(rest);

  Relayed relayed;
  Relay(pieces, client_version, keep_alive, relayed);
  if (relayed.head_built) CheckHead(relayed, client_version);

  Reference ref;
  ParseWhole(answer, ref);
  if (ref.parser.is_header_done() && ref.parser.get().result_int() / 100 == 1) return 0;
  Check(relayed.ok == ref.ok);
  if (!ref.ok) return 0;
  const auto& msg = ref.parser.get();
  Check(relayed.body == beast::buffers_to_string(msg.body().data()));
  std::string_view status_line;
  SplitHead(relayed.head, status_line);
  char code[5];
  std::snprintf(code, sizeof code, "%03u ", msg.result_int() % 1000);
  // The engine's reason phrase, or none where it gave none (Beast's reason()
  // then names the code's).
  Check(status_line.substr(9, 4) == code);
  Check(status_line.size() == 13 || status_line.substr(13) == msg.reason());
  CheckRelayedFields(relayed, ref.head);
  return 0;
}
