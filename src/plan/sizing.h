// Sizing: how much device memory one replica of a model needs.
//
//   need = weights + KV cache + engine overhead
//   weights  = bytes of the checkpoint (safetensors/GGUF sizes), or
//              parameters × bytes per parameter of the chosen dtype
//   KV cache = 2 (K and V) × layers × kv_heads × head_dim × bytes(kv_dtype)
//              × max_model_len × concurrency
//   overhead = CUDA context + activations + CUDA graphs, per engine
//
// docs/sizing.md has the derivation and worked examples. Pure functions: the
// files are read elsewhere (spec/model_files.h) and passed in as text/bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace carve::plan {

// What a model's own files say about it.
struct ModelFacts {
  std::string architecture;  // "LlamaForCausalLM", "llama" (GGUF)
  int layers = 0;
  int hidden = 0;
  int heads = 0;
  int kv_heads = 0;  // = heads without GQA
  int head_dim = 0;  // default hidden / heads
  int intermediate = 0;
  int vocab = 0;
  int experts = 0;  // MoE: routed experts (0 = dense)
  int moe_intermediate = 0;
  int shared_experts = 0;
  int kv_lora_rank = 0;  // MLA (DeepSeek-V2/V3): compressed KV per token
  int qk_rope_head_dim = 0;
  bool tied_embeddings = false;
  int max_position = 0;       // the model's own context length
  std::string weight_dtype;   // "bf16", "int4", "Q4_K_M" …
  uint64_t weight_bytes = 0;  // from the files; 0 when unknown
  uint64_t params = 0;        // counted from tensors (GGUF); 0 = derive from shape
  std::string source;         // which files said so
};

// Parses a Hugging Face config.json. `safetensors_bytes` is the checkpoint's
// total size (index metadata.total_size or the files' sizes), 0 if unknown.
Result<ModelFacts> FactsFromConfigJson(std::string_view json_text, uint64_t safetensors_bytes);
// Parses a GGUF header (the file's first bytes; enough of them to hold the
// metadata and tensor table) of a file of `file_size` bytes.
Result<ModelFacts> FactsFromGguf(std::span<const uint8_t> header, uint64_t file_size);

// Parameters from the shape: embeddings, attention, MLP (or experts), norms, head.
uint64_t ParamsFromShape(const ModelFacts& f);
// Bytes per parameter of a dtype or GGUF quantisation ("bf16" → 2, "int4" → 0.5
// plus group scales, "Q4_K_M" → 4.85 bits); error lists the known names.
Result<double> BytesPerParam(std::string_view dtype);
// Fixed per-replica memory of an engine (CUDA context, activations, graphs).
uint64_t EngineOverheadMiB(std::string_view engine);

struct SizingParams {
  std::string engine = "vllm";
  std::string dtype;          // "" = what the files hold
  std::string kv_dtype;       // "" = 16-bit
  int max_model_len = 0;      // 0 = the model's own
  int concurrency = 0;        // 0 = 1 sequence
  int64_t overhead_mib = -1;  // -1 = engine default
};

struct Sizing {
  uint64_t weights_mib = 0;
  uint64_t kv_cache_mib = 0;
  uint64_t overhead_mib = 0;
  uint64_t total_mib = 0;
  uint64_t params = 0;
  double bytes_per_param = 0;
  uint64_t kv_bytes_per_token = 0;
  int max_model_len = 0;
  int concurrency = 0;
  std::string dtype, kv_dtype;
  std::vector<std::string> notes;  // assumptions made, for `carve size`
};

Result<Sizing> Estimate(const ModelFacts& facts, const SizingParams& params);

// Memory a replica needs on each of `tp` GPUs: weights and KV split, the
// engine overhead paid on every GPU.
uint64_t PerGpuMiB(uint64_t total_mib, uint64_t overhead_mib, int tp);

// vLLM's --gpu-memory-utilization for a replica needing `need_mib` on a device
// of `device_mib`: rounded up to 0.01; a replica alone on its slice gets at
// least vLLM's default 0.90, so spare memory becomes KV cache.
double MemoryFraction(uint64_t need_mib, uint64_t device_mib, bool alone);

}  // namespace carve::plan
