// GGUF header reader (ggml docs/gguf.md): magic, version, tensor and
// key/value counts, the key/values, then the tensor table; tensor data starts
// at the next multiple of general.alignment. Only what sizing needs is kept.
#include <fmt/format.h>

#include <climits>
#include <cstring>
#include <map>

#include "plan/sizing.h"

namespace carve::plan {
namespace {

class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> b) : b_(b) {}
  template <typename T>
  bool Read(T* v) {
    if (sizeof(T) > b_.size() - pos_) return false;
    std::memcpy(v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Str(std::string* s) {
    uint64_t n = 0;
    if (!Read(&n) || n > b_.size() - pos_) return false;
    s->assign(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool Skip(uint64_t n) {
    if (n > b_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

enum : uint32_t { kF32 = 6, kBool = 7, kString = 8, kArray = 9, kF64 = 12 };

// Arrays of arrays exist (rarely, two deep); a header nesting them a million
// deep is malformed, and recursing that far would overflow the stack.
constexpr int kMaxArrayDepth = 8;

// Reads one value of GGUF type `type`: integers into *num, strings into *str,
// floats and arrays skipped.
bool ReadValue(Cursor& c, uint32_t type, uint64_t* num, std::string* str, int depth = 0) {
  static const size_t kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  if (type == kString) return c.Str(str);
  if (type == kArray) {
    uint32_t item = 0;
    uint64_t n = 0, ignored_num = 0;
    if (depth >= kMaxArrayDepth || !c.Read(&item) || !c.Read(&n)) return false;
    std::string ignored;
    for (uint64_t i = 0; i < n; ++i)
      if (!ReadValue(c, item, &ignored_num, &ignored, depth + 1)) return false;
    return true;
  }
  if (type >= 13) return false;
  if (type == kF32 || type == kF64) return c.Skip(kSizes[type]);
  uint64_t v = 0;
  uint8_t buf[8] = {};
  for (size_t i = 0; i < kSizes[type]; ++i)
    if (!c.Read(&buf[i])) return false;
  std::memcpy(&v, buf, sizeof v);  // little-endian hosts, as GGUF is
  *num = v;
  return true;
}

// llama.cpp's LLAMA_FTYPE values for the common files.
std::string FileTypeName(uint64_t t) {
  static const std::map<uint64_t, const char*> kNames = {
      {0, "f32"},     {1, "f16"},     {2, "q4_0"},    {3, "q4_1"},    {7, "q8_0"},
      {8, "q5_0"},    {9, "q5_1"},    {10, "q2_k"},   {11, "q3_k_s"}, {12, "q3_k_m"},
      {13, "q3_k_l"}, {14, "q4_k_s"}, {15, "q4_k_m"}, {16, "q5_k_s"}, {17, "q5_k_m"},
      {18, "q6_k"},   {30, "iq4_xs"}, {32, "bf16"}};
  auto it = kNames.find(t);
  return it == kNames.end() ? fmt::format("ftype{}", t) : it->second;
}

// A metadata number as an int; INT_MAX beyond it (the estimate is then
// refused as absurd, where a wrapped value might look plausible).
int Int(const std::map<std::string, uint64_t>& nums, const std::string& key, int absent = 0) {
  auto it = nums.find(key);
  if (it == nums.end()) return absent;
  return it->second > uint64_t(INT_MAX) ? INT_MAX : int(it->second);
}

Status Truncated() {
  return Status::InvalidArgument("GGUF header is truncated or malformed",
                                 "Point estimate.gguf at a complete .gguf file.");
}

}  // namespace

Result<ModelFacts> FactsFromGguf(std::span<const uint8_t> header, uint64_t file_size) {
  Cursor c(header);
  uint32_t magic = 0, version = 0;
  uint64_t tensors = 0, kvs = 0;
  if (!c.Read(&magic) || std::memcmp(&magic, "GGUF", 4) != 0)
    return Status::InvalidArgument("not a GGUF file (no GGUF magic)");
  if (!c.Read(&version) || version < 2 || version > 3)
    return Status::InvalidArgument(
        fmt::format("GGUF version {} is not supported (2 and 3 are)", version));
  if (!c.Read(&tensors) || !c.Read(&kvs)) return Truncated();
  std::map<std::string, uint64_t> nums;
  std::map<std::string, std::string> strs;
  for (uint64_t i = 0; i < kvs; ++i) {
    std::string key, str;
    uint32_t type = 0;
    uint64_t num = 0;
    if (!c.Str(&key) || !c.Read(&type) || !ReadValue(c, type, &num, &str)) return Truncated();
    if (type == kString)
      strs[key] = str;
    else if (type != kArray)
      nums[key] = num;
  }
  ModelFacts f;
  f.architecture = strs["general.architecture"];
  const std::string& a = f.architecture;
  f.layers = Int(nums, a + ".block_count");
  f.hidden = Int(nums, a + ".embedding_length");
  f.heads = Int(nums, a + ".attention.head_count");
  f.kv_heads = Int(nums, a + ".attention.head_count_kv", f.heads);
  f.head_dim = Int(nums, a + ".attention.key_length", f.heads ? f.hidden / f.heads : 0);
  f.intermediate = Int(nums, a + ".feed_forward_length");
  f.experts = Int(nums, a + ".expert_count");
  f.max_position = Int(nums, a + ".context_length");
  f.weight_dtype =
      nums.count("general.file_type") ? FileTypeName(nums["general.file_type"]) : "f16";
  // The spec asks for a power of two; 0 would divide by zero below.
  uint64_t alignment = nums.count("general.alignment") ? nums["general.alignment"] : 32;
  if (alignment == 0 || alignment > (1u << 30) || (alignment & (alignment - 1)) != 0)
    return Status::InvalidArgument(
        fmt::format("GGUF general.alignment is {}, not a power of two", alignment),
        "Point estimate.gguf at a complete .gguf file.");
  for (uint64_t i = 0; i < tensors; ++i) {
    std::string name;
    uint32_t dims = 0, type = 0;
    uint64_t count = 1, offset = 0;
    if (!c.Str(&name) || !c.Read(&dims) || dims > 8) return Truncated();
    for (uint32_t d = 0; d < dims; ++d) {
      uint64_t n = 0;
      if (!c.Read(&n) || __builtin_mul_overflow(count, n, &count)) return Truncated();
    }
    if (!c.Read(&type) || !c.Read(&offset) || __builtin_add_overflow(f.params, count, &f.params))
      return Truncated();
  }
  uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  f.weight_bytes = file_size > data_start ? file_size - data_start : 0;
  f.source = "GGUF header";
  if (f.layers <= 0 || f.heads <= 0)
    return Status::InvalidArgument(
        fmt::format("GGUF metadata lacks {}.block_count or attention.head_count", a),
        "Give memory: explicitly for this model instead of estimate:.");
  return f;
}

}  // namespace carve::plan
