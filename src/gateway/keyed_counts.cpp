#include "gateway/keyed_counts.h"

#include <algorithm>
#include <functional>
#include <string>

namespace carve::gateway {

uint64_t KeyTag(std::string_view name) {
  if (name.empty()) return 0;
  uint64_t h = std::hash<std::string_view>{}(name) & ((uint64_t{1} << 54) - 1);
  return h ? h : 1;
}

void KeyedCounts::Add(uint64_t key_tag, uint32_t code) {
  const uint64_t word = key_tag << 10 | (std::min(code, kMaxCode) + 1);
  static_assert(kSlots == 512, "the hash below takes 9 bits");
  size_t i = (word * 0x9E3779B97F4A7C15ull) >> 55;
  for (size_t n = 0; n < kSlots; ++n, i = (i + 1) % kSlots) {
    uint64_t seen = words_[i].load(std::memory_order_acquire);
    if (seen == 0 && !words_[i].compare_exchange_strong(seen, word, std::memory_order_acq_rel) &&
        seen != word)
      continue;  // another pair took the slot first
    if (seen != 0 && seen != word) continue;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    return;
  }
  overflow_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<KeyedCounts::Entry> KeyedCounts::NonZero() const {
  std::vector<Entry> out;
  for (size_t i = 0; i < kSlots; ++i) {
    uint64_t word = words_[i].load(std::memory_order_acquire);
    if (word == 0) continue;
    uint64_t n = counts_[i].load(std::memory_order_relaxed);
    if (n) out.push_back({word >> 10, static_cast<uint32_t>((word & 1023) - 1), n});
  }
  return out;
}

}  // namespace carve::gateway
