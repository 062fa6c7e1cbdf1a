// Generated tokens, counted from an engine's answer as it passes through:
// the answer's own `usage.completion_tokens` when it has one (a whole JSON
// answer; a stream asked with stream_options.include_usage), else, for a
// stream, one token per `data: {…}` event (engines send a token or a few per
// event, so this undercounts a little). Feeds carve up's tokens/s; the
// gateway never parses the whole answer for it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace carve::gateway {

class TokenCounter {
 public:
  // `data`: the next bytes of the answer's body, in order, in any slices.
  void Feed(std::string_view data);
  // The count so far: the last usage seen, else the events.
  uint64_t count() const { return usage_seen_ ? usage_ : events_; }
  // A whole answer that is not a stream: its usage alone (no events to
  // count), read from the end where engines put it.
  static uint64_t OfWholeAnswer(std::string_view body);

 private:
  void Scan(std::string_view text, size_t fresh);
  void ScanUsage(std::string_view text);
  std::string tail_;  // the end of the previous slice, for matches across slices
  uint64_t events_ = 0;
  uint64_t usage_ = 0;
  bool usage_seen_ = false;
};

}  // namespace carve::gateway
