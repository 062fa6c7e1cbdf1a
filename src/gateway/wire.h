// HTTP/1.x on the gateway's hot path, without sockets.
//
// Parsing stays Beast's: Feed hands bytes to a Beast parser, and the two
// handlers here (ClientRequest, EngineAnswer) keep what the gateway reads and
// the fields it forwards as text, instead of Beast's table of fields that the
// gateway would copy out again. Writing is done here: a head is one string
// built in one copy, a chunk's framing two short strings around the relayed
// bytes. (Beast's serializer walks a view over every field for each write,
// which cost more than all the rest of a proxied request's user time.) Field
// names and values come from Beast's parser, which refuses CR, LF and NUL in
// them and turns obs-fold into a space, or from the gateway itself: nothing
// here can smuggle a header.
//
// Pure functions of their inputs, so unit tests and the fuzzer drive them.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/message.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace carve::gateway::wire {

namespace beast = boost::beast;
namespace http = beast::http;

// Appends the status line, the header fields and the empty line of `h`.
void AppendHead(const http::response_header<>& h, std::string& out);

// Fields that describe one connection, not the message (RFC 9110 7.6.1), and
// the framing fields the gateway writes itself: never relayed either way. So
// are the fields a message's Connection field names, and trailer fields.
bool IsHopByHop(http::field f);

// Memory for request bodies, shared by every connection of a gateway, so that
// many large bodies at once cannot take more than `limit` bytes together.
// Thread-safe.
class BodyBudget {
 public:
  explicit BodyBudget(uint64_t limit) : limit_(limit) {}
  bool Take(uint64_t n);  // false (nothing taken) when it would exceed the limit
  void Give(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

// What Feed returns when a body would exceed its BodyBudget.
inline const beast::error_code kBodyBudgetExceeded =
    boost::asio::error::make_error_code(boost::asio::error::no_buffer_space);

// The strings the parser handlers below fill, owned by the connection a
// message is read from, so that their capacity carries over to the next
// message: once a connection has warmed up, reading one allocates nothing.
// A handler clears the parts it uses when it is made.
struct MessageText {
  std::string method, target, reason;
  std::string authorization, x_api_key, content_type, request_id, expect;
  std::string connection;    // the Connection field's values, comma-joined
  std::string fields;        // forwarded (a request) or relayed (an answer), as text
  std::string cache_fields;  // an answer's Cache-Control, X-Accel-Buffering
  std::string body;
  // After a message: gives back what an unusually large body left behind, so
  // an idle connection does not hold a large request's memory.
  void Shrink();
};

// A Beast parser handler that collects the body (plain or chunked) as it is
// parsed; what it keeps of the head is the derived class's business. It also
// keeps the head's size exact: Beast bounds each window of bytes it scans
// for the end of the head, and consumes whole fields as they arrive, so a head
// that arrives in pieces could pass header_limit by a read's worth.
template <bool isRequest>
class BodyCollector : public http::basic_parser<isRequest> {
 public:
  explicit BodyCollector(std::string& body) : body_(body) { body_.clear(); }
  ~BodyCollector() override {
    if (budget_) budget_->Give(taken_);
  }
  std::string& body() { return body_; }
  const std::string& body() const { return body_; }
  // The most bytes the head (start line and fields, trailers too) may take.
  void limit_head(uint32_t bytes) {
    head_limit_ = bytes;
    this->header_limit(bytes);
  }
  // Bodies take their bytes from `budget` (may be null) while this lives.
  void charge_body_to(BodyBudget* budget) { budget_ = budget; }

 protected:
  // Counts `n` more bytes of head; false (with ec set) past limit_head.
  bool CountHead(size_t n, beast::error_code& ec) {
    head_bytes_ += n;
    if (head_bytes_ <= head_limit_) return true;
    ec = http::error::header_limit;
    return false;
  }
  // True once the head is parsed: a field seen now is a trailer field.
  bool in_trailer() const { return this->is_header_done(); }

 private:
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code&) override {
    if (length) body_.reserve(std::min<std::uint64_t>(*length, 8 << 20));
  }
  size_t on_body_impl(beast::string_view body, beast::error_code& ec) override {
    if (budget_) {
      if (!budget_->Take(body.size())) {
        ec = kBodyBudgetExceeded;
        return 0;
      }
      taken_ += body.size();
    }
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body,
                            beast::error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(beast::error_code&) override {}

  std::string& body_;
  BodyBudget* budget_ = nullptr;
  uint64_t taken_ = 0;
  size_t head_bytes_ = 0;
  uint32_t head_limit_ = UINT32_MAX;
};

// A client's request as the gateway reads it. Beast's parser reads it
// (limits, framing, chunked decoding); this handler keeps no table of fields,
// only what the gateway looks at (the credentials, Content-Type, X-Request-Id,
// Expect, how many Host fields) and, as the text it will be forwarded as, the
// fields an engine gets: all but hop-by-hop ones (Expect among them: the
// gateway answers 100-continue itself), those the Connection field names,
// X-Request-Id and Forwarded (the gateway writes its own) and, with
// `strip_keys`, the gateway credentials (Authorization, X-Api-Key), which are
// not the engine's. Trailer fields are dropped: they never authenticate and
// never reach the engine (RFC 9110 6.5.1). Of a field given twice, the lookups
// see the first. An absolute-form target (RFC 9112 3.2.2) is kept in origin
// form.
class ClientRequest : public BodyCollector<true> {
 public:
  ClientRequest(bool strip_keys, MessageText& text);

  std::string_view method() const { return t_.method; }
  std::string_view target() const { return t_.target; }
  unsigned version() const { return version_; }
  std::string_view authorization() const { return t_.authorization; }
  std::string_view x_api_key() const { return t_.x_api_key; }
  std::string_view content_type() const { return t_.content_type; }
  std::string_view request_id() const { return t_.request_id; }
  std::string_view expect() const { return t_.expect; }
  int host_fields() const { return host_fields_; }
  const std::string& forwarded_fields() const { return t_.fields; }  // "Name: value\r\n"...

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code&) override;
  void on_header_impl(beast::error_code&) override;
  void on_response_impl(int, beast::string_view, int, beast::error_code&) override {}
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code&) override;

  bool strip_keys_;
  MessageText& t_;
  unsigned version_ = 11;
  bool seen_authorization_ = false, seen_api_key_ = false, seen_content_type_ = false,
       seen_request_id_ = false, seen_expect_ = false;
  int host_fields_ = 0;
};

// The head of the request an engine gets: the client's request line as
// HTTP/1.1, its forwarded fields, then Host, X-Request-Id, Forwarded and
// Content-Length.
struct UpstreamHead {
  std::string_view host;
  std::string_view request_id;
  std::string_view client_ip;
  uint64_t content_length = 0;
};
void AppendUpstreamHead(const ClientRequest& client, const UpstreamHead& up, std::string& out);

// How the head of an engine's answer is rewritten for the client: the status
// line in the client's HTTP version, the engine's fields less hop-by-hop ones
// and its X-Request-Id; then X-Request-Id, the SSE fields (with
// `event_stream`; they replace the engine's Cache-Control), the framing
// (Content-Length, or chunked) and Connection as `keep_alive` needs for that
// version.
struct RelayedHead {
  unsigned client_version = 11;
  std::string_view request_id;
  bool keep_alive = true;
  bool event_stream = false;
  bool chunked = false;                    // else content_length, if any
  std::optional<uint64_t> content_length;  // none and not chunked: the end is the close
};

// An engine's answer as the gateway relays it. Beast's parser reads it (limits,
// framing, chunked decoding); this handler keeps no table of fields, only what
// the relay needs: the status, the fields to relay (hop-by-hop ones dropped as
// they arrive, those its Connection field names, trailers, and the gateway's
// own error marker, which only the gateway may set), whether it is an event
// stream, and the body bytes parsed and not yet taken. An interim (1xx)
// answer is a whole message of its own: the proxy reads the next one after it
// with a new EngineAnswer. Cheaper per answer than a Beast message, which allocates and
// indexes every field only for the gateway to copy most of them out again.
class EngineAnswer : public BodyCollector<false> {
 public:
  explicit EngineAnswer(MessageText& text);
  int status() const { return status_; }
  bool interim() const { return status_ >= 100 && status_ < 200; }
  bool event_stream() const { return event_stream_; }
  // body(): the bytes parsed so far and not yet taken (the relay clears it).
  // The head for the client, rewritten as RelayedHead says.
  void AppendHead(const RelayedHead& h, std::string& out) const;

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view reason, int version,
                        beast::error_code&) override;
  void on_header_impl(beast::error_code&) override;
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     beast::error_code&) override;

  MessageText& t_;  // fields: relayed as they are; cache_fields: not on a stream
  int status_ = 0;
  bool event_stream_ = false;
};

// A chunk's size line ("1a2f\r\n") for a chunk of `n` bytes, n > 0.
std::string_view ChunkSizeLine(size_t n, char (&scratch)[24]);
inline constexpr std::string_view kChunkEnd = "\r\n";  // after each chunk's bytes
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// Feeds what `buf` holds to `parser`, consuming what it used, until the header
// (header_only) or the whole message is parsed. Returns {} when it is,
// http::error::need_more when `buf` ran out first, or the parser's error
// (header_limit, body_limit, bad_* …).
template <bool isRequest>
beast::error_code Feed(http::basic_parser<isRequest>& parser, beast::flat_buffer& buf,
                       bool header_only);

// The peer closed its side: what that means for `parser` — {} if the message
// ends at EOF, end_of_stream if nothing had arrived, else partial_message.
template <bool isRequest>
beast::error_code AtEof(http::basic_parser<isRequest>& parser);

}  // namespace carve::gateway::wire
