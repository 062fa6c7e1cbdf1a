#include "gateway/tokens.h"

#include <algorithm>

namespace carve::gateway {
namespace {

constexpr std::string_view kEvent = "data: {";
// Searched forward without its opening quote: find() skips to each 'c' with
// memchr, where rfind() and a leading '"' (JSON is full of them) would crawl.
constexpr std::string_view kUsage = "completion_tokens\"";
// What is kept of a slice's end so a match begun there completes in the next:
// the usage key, its colon, some spaces and a 20-digit number.
constexpr size_t kKeep = kUsage.size() + 33;

}  // namespace

void TokenCounter::Feed(std::string_view data) {
  if (tail_.empty()) {
    Scan(data, 0);
    tail_.assign(data.substr(data.size() - std::min(data.size(), kKeep)));
    return;
  }
  std::string window = tail_;
  window.append(data);
  Scan(window, tail_.size());
  tail_.assign(window, window.size() - std::min(window.size(), kKeep));
}

uint64_t TokenCounter::OfWholeAnswer(std::string_view body) {
  TokenCounter t;
  t.ScanUsage(body);
  return t.usage_;
}

// `text` ends with the new bytes, which start at `fresh`; an event is counted
// in the slice that brings its last byte. The usage number is read where it
// is whole (followed by something that is not a digit).
void TokenCounter::Scan(std::string_view text, size_t fresh) {
  for (size_t at = text.find(kEvent); at != std::string_view::npos; at = text.find(kEvent, at + 1))
    if (at + kEvent.size() > fresh) ++events_;
  ScanUsage(text);
}

// The last whole usage number in `text`, if any, becomes the count.
void TokenCounter::ScanUsage(std::string_view text) {
  for (size_t at = text.find(kUsage); at != std::string_view::npos;
       at = text.find(kUsage, at + 1)) {
    if (at == 0 || text[at - 1] != '"') continue;
    size_t i = at + kUsage.size();
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size() || text[i] != ':') continue;
    ++i;
    while (i < text.size() && text[i] == ' ') ++i;
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 20; ++i, ++digits)
      v = v * 10 + static_cast<uint64_t>(text[i] - '0');
    if (digits == 0 || i >= text.size()) continue;  // not a number, or not whole yet
    usage_ = v;
    usage_seen_ = true;
  }
}

}  // namespace carve::gateway
