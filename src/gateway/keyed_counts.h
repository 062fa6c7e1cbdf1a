// Counters by (API key, small code): a replica's answers by key and HTTP
// status, a model's gateway errors by key and error kind. Lock-free, for the
// request path: a fixed open-addressed table whose slots are claimed once,
// with compare-and-swap, then only incremented (relaxed atomics, as in
// metrics.h). A key is known by its tag (KeyTag of its name; 0 for no key),
// so counts survive a reload that keeps the key's name.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

namespace carve::gateway {

// A key's tag: 54 bits of a hash of its name, never 0 (0 is "no key").
uint64_t KeyTag(std::string_view name);

class KeyedCounts {
 public:
  static constexpr size_t kSlots = 512;       // (key, code) pairs per table
  static constexpr uint32_t kMaxCode = 1022;  // code + 1 fits in 10 bits

  // Counts one (key, code); `code` above kMaxCode counts as kMaxCode. When
  // every slot is taken by other pairs it counts in overflow().
  void Add(uint64_t key_tag, uint32_t code);

  struct Entry {
    uint64_t key_tag;
    uint32_t code;
    uint64_t count;
  };
  // Every pair counted at least once, in slot order.
  std::vector<Entry> NonZero() const;
  uint64_t overflow() const { return overflow_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kSlots> words_{};  // key_tag << 10 | code + 1; 0: free
  std::array<std::atomic<uint64_t>, kSlots> counts_{};
  std::atomic<uint64_t> overflow_{0};
};

}  // namespace carve::gateway
