#include "plan/sizing.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstring>

namespace carve::plan {
namespace {

constexpr const char* kLlama3_8B = R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 4096,
  "intermediate_size": 14336, "max_position_embeddings": 8192, "num_attention_heads": 32,
  "num_hidden_layers": 32, "num_key_value_heads": 8, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16", "vocab_size": 128256})";

TEST(Sizing, Llama3_8B_GqaByHand) {
  auto f = FactsFromConfigJson(kLlama3_8B, 0);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // embed 128256·4096 = 525,336,576 (×2, untied); per layer q,o 2·4096² + k,v 2·4096·1024
  // + MLP 3·4096·14336 + norms 2·4096 = 218,112,000; ×32; + final norm 4096.
  EXPECT_EQ(ParamsFromShape(*f), 2ull * 525336576 + 32ull * 218112000 + 4096);  // 8.03B
  auto s = Estimate(*f, SizingParams{"vllm", "", "", 8192, 1, -1});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kv_bytes_per_token, 2ull * 32 * 8 * 128 * 2);  // 128 KiB with GQA (8 KV heads)
  EXPECT_EQ(s->kv_cache_mib, 1024u);                          // 8192 tokens → 1 GiB
  EXPECT_EQ(s->weights_mib, 15317u);                          // 8.03e9 × 2 B
  EXPECT_EQ(s->overhead_mib, 2048u);
  EXPECT_EQ(s->total_mib, 15317u + 1024 + 2048);
}

TEST(Sizing, DenseWithoutGqaHasFourTimesTheKv) {
  std::string dense = kLlama3_8B;
  dense.replace(dense.find("\"num_key_value_heads\": 8"), 24, "\"num_key_value_heads\": 32");
  auto s = Estimate(*FactsFromConfigJson(dense, 0), SizingParams{"vllm", "", "", 4096, 2, 0});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kv_bytes_per_token, 524288u);  // 512 KiB
  EXPECT_EQ(s->kv_cache_mib, 4096u);          // × 4096 tokens × 2 sequences
}

TEST(Sizing, QuantisedWeightsAndFp8Kv) {
  auto f = *FactsFromConfigJson(kLlama3_8B, 0);
  auto s = Estimate(f, SizingParams{"vllm", "int4", "fp8", 8192, 1, 0});
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->bytes_per_param, 4.125 / 8);  // 4 bits + a 16-bit scale per 128
  EXPECT_EQ(s->kv_cache_mib, 512u);
  EXPECT_NEAR(double(s->weights_mib), 8.03e9 * 4.125 / 8 / 1048576, 2);
}

TEST(Sizing, CheckpointBytesWinOverParameterCount) {
  auto s = Estimate(*FactsFromConfigJson(kLlama3_8B, 16060522496ull),
                    SizingParams{"vllm", "", "", 8192, 1, 0});
  EXPECT_EQ(s->weights_mib, 15317u);  // Meta-Llama-3-8B safetensors total_size
}

TEST(Sizing, AwqConfigMeansInt4) {
  std::string awq = kLlama3_8B;
  awq.insert(awq.size() - 1, R"(, "quantization_config": {"quant_method": "awq", "bits": 4})");
  EXPECT_EQ(FactsFromConfigJson(awq, 0)->weight_dtype, "int4");
}

TEST(Sizing, UnknownDtypeListsKnown) {
  auto s =
      Estimate(*FactsFromConfigJson(kLlama3_8B, 0), SizingParams{"vllm", "int3", "", 8192, 1, 0});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().hint().find("bf16"), std::string::npos);
}

// A GGUF v3 header with the llama keys and two tensors.
std::vector<uint8_t> Gguf() {
  std::vector<uint8_t> b;
  auto raw = [&](const void* p, size_t n) {
    b.insert(b.end(), (const uint8_t*)p, (const uint8_t*)p + n);
  };
  auto u32 = [&](uint32_t v) { raw(&v, 4); };
  auto u64 = [&](uint64_t v) { raw(&v, 8); };
  auto str = [&](const std::string& s) { u64(s.size()), raw(s.data(), s.size()); };
  raw("GGUF", 4), u32(3), u64(2), u64(7);
  str("general.architecture"), u32(8), str("llama");
  str("llama.block_count"), u32(4), u32(32);
  str("llama.embedding_length"), u32(4), u32(4096);
  str("llama.attention.head_count"), u32(4), u32(32);
  str("llama.attention.head_count_kv"), u32(4), u32(8);
  str("llama.context_length"), u32(4), u32(8192);
  str("general.file_type"), u32(4), u32(15);  // Q4_K_M
  str("token_embd.weight"), u32(2), u64(4096), u64(128256), u32(12), u64(0);
  str("output.weight"), u32(2), u64(4096), u64(128256), u32(14), u64(0);
  return b;
}

TEST(Sizing, GgufHeader) {
  auto bytes = Gguf();
  auto f = FactsFromGguf(bytes, 4920000000ull);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->weight_dtype, "q4_k_m");
  EXPECT_EQ(f->kv_heads, 8);
  EXPECT_EQ(f->head_dim, 128);
  EXPECT_EQ(f->params, 2ull * 4096 * 128256);
  uint64_t data_start = (bytes.size() + 31) / 32 * 32;
  EXPECT_EQ(f->weight_bytes, 4920000000ull - data_start);
  auto s = Estimate(*f, SizingParams{"llama.cpp", "", "", 4096, 1, -1});
  EXPECT_EQ(s->kv_cache_mib, 512u);
  EXPECT_EQ(s->overhead_mib, 1024u);
}

TEST(Sizing, TruncatedGgufIsAnError) {
  auto bytes = Gguf();
  bytes.resize(60);
  EXPECT_FALSE(FactsFromGguf(bytes, 1000).ok());
}

// issue #12: numbers beyond int in config.json wrapped (UB) into plausible
// shapes; they now make an estimate that is refused as absurd.
TEST(Sizing, AbsurdShapeIsRefusedNotWrapped) {
  std::string config = kLlama3_8B;
  config.replace(config.find("\"num_hidden_layers\": 32"), 23, "\"num_hidden_layers\": 1e20");
  auto f = FactsFromConfigJson(config, 0);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->layers, INT_MAX);
  auto s = Estimate(*f, SizingParams{"vllm", "", "", 0, 0, -1});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("more than 1 PiB per replica"), std::string::npos)
      << s.status().message();
  auto kv = Estimate(*FactsFromConfigJson(kLlama3_8B, 0),
                     SizingParams{"vllm", "", "", INT_MAX, INT_MAX, -1});
  EXPECT_FALSE(kv.ok());
}

// issue #12: arrays nested a million deep overflowed the stack; alignment 0
// divided by zero.
TEST(Sizing, MalformedGgufIsAnErrorNotACrash) {
  std::vector<uint8_t> deep;
  auto raw = [&](const void* p, size_t n) {
    deep.insert(deep.end(), (const uint8_t*)p, (const uint8_t*)p + n);
  };
  uint32_t version = 3, array = 9;
  uint64_t tensors = 0, kvs = 1, one = 1;
  raw("GGUF", 4), raw(&version, 4), raw(&tensors, 8), raw(&kvs, 8);
  raw(&one, 8), raw("a", 1), raw(&array, 4);
  for (int i = 0; i < 1000000; ++i) raw(&array, 4), raw(&one, 8);
  EXPECT_FALSE(FactsFromGguf(deep, deep.size()).ok());

  auto bytes = Gguf();
  const uint32_t kU64 = 10;
  const uint64_t kZero = 0, kKeyLen = 17;
  std::vector<uint8_t> kv;
  auto put = [&](const void* p, size_t n) {
    kv.insert(kv.end(), (const uint8_t*)p, (const uint8_t*)p + n);
  };
  put(&kKeyLen, 8), put("general.alignment", 17), put(&kU64, 4), put(&kZero, 8);
  uint64_t count = 8;
  std::memcpy(&bytes[16], &count, 8);  // one more key/value
  bytes.insert(bytes.begin() + 24, kv.begin(), kv.end());
  auto f = FactsFromGguf(bytes, 4920000000ull);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("general.alignment is 0"), std::string::npos)
      << f.status().message();
}

TEST(Sizing, MemoryFraction) {
  EXPECT_DOUBLE_EQ(MemoryFraction(9216, 9984, true), 0.93);
  EXPECT_DOUBLE_EQ(MemoryFraction(3000, 9984, true), 0.90);   // alone: at least vLLM's default
  EXPECT_DOUBLE_EQ(MemoryFraction(3000, 9984, false), 0.31);  // sharing: its own part
  EXPECT_EQ(PerGpuMiB(100000, 2000, 2), 51000u);
}

}  // namespace
}  // namespace carve::plan
