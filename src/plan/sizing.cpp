#include "plan/sizing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "spec/quantity.h"

namespace carve::plan {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The first of `keys` present in `j` (or its text_config, for multimodal
// wrappers) as an int; 0 when none is. A number beyond int (1e20) becomes
// INT_MAX rather than wrap: the estimate it leads to is then refused as
// absurd, where a wrapped one might look plausible.
int IntKey(const json& j, std::initializer_list<const char*> keys) {
  for (const json* src : {&j, j.contains("text_config") ? &j["text_config"] : nullptr}) {
    if (!src) continue;
    for (const char* k : keys) {
      auto it = src->find(k);
      if (it == src->end() || !it->is_number()) continue;
      double v = it->get<double>();
      return v >= double(INT_MAX) ? INT_MAX : v > 0 ? int(v) : 0;
    }
  }
  return 0;
}

// The dtype the checkpoint is stored in, in carve's names.
std::string StoredDtype(const json& j) {
  if (j.contains("quantization_config") && j["quantization_config"].is_object()) {
    const json& q = j["quantization_config"];
    std::string method = Lower(q.value("quant_method", ""));
    double bits = q.contains("bits") && q["bits"].is_number() ? q["bits"].get<double>() : 0;
    if (method == "fp8" || method == "compressed-tensors") return bits == 4 ? "int4" : "fp8";
    if (bits == 4 || method == "awq" || method == "bitsandbytes") return "int4";
    if (bits == 8) return "int8";
  }
  for (const char* k : {"torch_dtype", "dtype"}) {
    for (const json* src : {&j, j.contains("text_config") ? &j["text_config"] : nullptr}) {
      if (src && src->contains(k) && (*src)[k].is_string()) {
        std::string d = Lower((*src)[k].get<std::string>());
        if (d == "bfloat16") return "bf16";
        if (d == "float16") return "fp16";
        if (d == "float32") return "fp32";
        return d;
      }
    }
  }
  return "bf16";
}

Result<ModelFacts> FactsFrom(const json& j, uint64_t safetensors_bytes);

// Saturates above kMaxMemoryMiB, so that a sum of a few stays in range and
// Estimate can refuse it.
uint64_t ToMiB(double bytes) {
  double mib = std::ceil(bytes / (1024.0 * 1024.0));
  return mib > double(spec::kMaxMemoryMiB) ? spec::kMaxMemoryMiB + 1 : static_cast<uint64_t>(mib);
}

}  // namespace

Result<ModelFacts> FactsFromConfigJson(std::string_view text, uint64_t safetensors_bytes) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument("config.json is not a JSON object");
  try {
    return FactsFrom(j, safetensors_bytes);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(
        fmt::format("config.json has a value of an unexpected type ({})", e.what()));
  }
}

namespace {
Result<ModelFacts> FactsFrom(const json& j, uint64_t safetensors_bytes) {
  ModelFacts f;
  if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty())
    f.architecture = j["architectures"][0].get<std::string>();
  f.layers = IntKey(j, {"num_hidden_layers", "n_layer", "num_layers"});
  f.hidden = IntKey(j, {"hidden_size", "n_embd", "d_model"});
  f.heads = IntKey(j, {"num_attention_heads", "n_head"});
  f.kv_heads = IntKey(j, {"num_key_value_heads", "num_kv_heads"});
  if (f.kv_heads == 0) f.kv_heads = j.value("multi_query", false) ? 1 : f.heads;
  f.head_dim = IntKey(j, {"head_dim"});
  if (f.head_dim == 0 && f.heads > 0) f.head_dim = f.hidden / f.heads;
  f.intermediate = IntKey(j, {"intermediate_size", "n_inner", "ffn_dim"});
  f.vocab = IntKey(j, {"vocab_size"});
  f.experts = IntKey(j, {"num_local_experts", "num_experts", "n_routed_experts"});
  f.moe_intermediate = IntKey(j, {"moe_intermediate_size"});
  f.shared_experts = IntKey(j, {"n_shared_experts"});
  f.kv_lora_rank = IntKey(j, {"kv_lora_rank"});
  f.qk_rope_head_dim = IntKey(j, {"qk_rope_head_dim"});
  f.tied_embeddings = j.value("tie_word_embeddings", false);
  f.max_position = IntKey(j, {"max_position_embeddings", "n_positions", "max_sequence_length"});
  f.weight_dtype = StoredDtype(j);
  f.weight_bytes = safetensors_bytes;
  f.source = safetensors_bytes ? "config.json + safetensors sizes" : "config.json";
  if (f.layers <= 0 || f.hidden <= 0 || f.heads <= 0 || f.vocab <= 0)
    return Status::InvalidArgument(
        "config.json lacks the shape carve needs (num_hidden_layers, hidden_size, "
        "num_attention_heads, vocab_size)",
        "Give memory: explicitly for this model instead of estimate:.");
  return f;
}
}  // namespace

uint64_t ParamsFromShape(const ModelFacts& f) {
  if (f.params) return f.params;
  // In double: exact for real shapes (well below 2^53), and no wrap-around
  // for absurd ones, which saturate.
  double h = f.hidden, q = double(f.heads) * f.head_dim, kv = double(f.kv_heads) * f.head_dim;
  double attn = h * q + 2 * h * kv + q * h;
  double mlp = 3 * h * f.intermediate;
  if (f.experts > 0) {
    double inter = f.moe_intermediate ? f.moe_intermediate : f.intermediate;
    mlp = (double(f.experts) + f.shared_experts) * 3 * h * inter + h * f.experts;
  }
  double embed = double(f.vocab) * h;
  double params = embed * (f.tied_embeddings ? 1 : 2) + double(f.layers) * (attn + mlp + 2 * h) + h;
  return params < 0x1p63 ? static_cast<uint64_t>(params) : uint64_t{1} << 63;
}

Result<double> BytesPerParam(std::string_view dtype) {
  // GGUF types: block bytes / block weights (ggml-common.h); the _S/_M/_L mixes
  // keep some tensors at higher precision, so they weigh a little more.
  static const std::map<std::string, double> kBits = {
      {"fp32", 32},     {"f32", 32},      {"bf16", 16},     {"fp16", 16},    {"f16", 16},
      {"fp8", 8},       {"int8", 8},      {"int4", 4.125},  {"nf4", 4.25},   {"q8_0", 8.5},
      {"q6_k", 6.5625}, {"q5_k_m", 5.69}, {"q5_k_s", 5.54}, {"q5_k", 5.5},   {"q5_0", 5.5},
      {"q5_1", 6},      {"q4_k_m", 4.85}, {"q4_k_s", 4.58}, {"q4_k", 4.5},   {"q4_0", 4.5},
      {"q4_1", 5},      {"q3_k_l", 4.27}, {"q3_k_m", 3.91}, {"q3_k_s", 3.5}, {"q2_k", 2.96},
      {"iq4_xs", 4.25}, {"iq4_nl", 4.5}};
  auto it = kBits.find(Lower(dtype));
  if (it == kBits.end()) {
    std::string names;
    for (const auto& [k, v] : kBits) names += (names.empty() ? "" : " ") + k;
    return Status::InvalidArgument(fmt::format("unknown dtype '{}'", dtype),
                                   "Known: " + names + ".");
  }
  return it->second / 8.0;
}

uint64_t EngineOverheadMiB(std::string_view engine) {
  // CUDA context (~500 MiB on Hopper) + activation peak during vLLM's memory
  // profiling + captured CUDA graphs; llama.cpp has a compute buffer and no
  // profiling run. docs/sizing.md explains the numbers.
  if (engine == "vllm" || engine == "sglang") return 512 + 1024 + 512;
  if (engine == "llama.cpp") return 512 + 512;
  if (engine == "echo") return 0;
  return 512;
}

Result<Sizing> Estimate(const ModelFacts& f, const SizingParams& p) {
  Sizing s;
  s.params = ParamsFromShape(f);
  s.dtype = p.dtype.empty() ? f.weight_dtype : Lower(p.dtype);
  CARVE_ASSIGN_OR_RETURN(s.bytes_per_param, BytesPerParam(s.dtype));
  bool from_files =
      f.weight_bytes > 0 && (p.dtype.empty() || Lower(p.dtype) == Lower(f.weight_dtype));
  if (from_files) {
    s.weights_mib = ToMiB(double(f.weight_bytes));
    s.notes.push_back(fmt::format("weights: {} bytes in the checkpoint files", f.weight_bytes));
  } else {
    s.weights_mib = ToMiB(double(s.params) * s.bytes_per_param);
    s.notes.push_back(fmt::format("weights: {:.2f}B parameters × {} bytes ({})", s.params / 1e9,
                                  s.bytes_per_param, s.dtype));
  }
  s.kv_dtype = p.kv_dtype.empty() ? "fp16" : Lower(p.kv_dtype);
  CARVE_ASSIGN_OR_RETURN(double kv_bytes, BytesPerParam(s.kv_dtype));
  double per_layer = f.kv_lora_rank > 0 ? double(f.kv_lora_rank) + f.qk_rope_head_dim
                                        : 2.0 * f.kv_heads * f.head_dim;
  double per_token = std::ceil(per_layer * f.layers * kv_bytes);
  s.kv_bytes_per_token = per_token < 0x1p63 ? static_cast<uint64_t>(per_token) : uint64_t{1} << 63;
  s.max_model_len = p.max_model_len > 0 ? p.max_model_len : f.max_position;
  if (s.max_model_len <= 0)
    return Status::InvalidArgument("the model's files give no context length",
                                   "Set estimate.max_model_len (tokens).");
  s.concurrency = p.concurrency > 0 ? p.concurrency : 1;
  s.kv_cache_mib = ToMiB(double(s.kv_bytes_per_token) * s.max_model_len * s.concurrency);
  s.notes.push_back(fmt::format("KV cache: {} bytes/token × {} tokens × {} sequence(s)",
                                s.kv_bytes_per_token, s.max_model_len, s.concurrency));
  s.overhead_mib = p.overhead_mib >= 0 ? uint64_t(p.overhead_mib) : EngineOverheadMiB(p.engine);
  s.total_mib = s.weights_mib + s.kv_cache_mib + s.overhead_mib;  // each ≤ 1 PiB + 1 MiB
  if (s.total_mib > spec::kMaxMemoryMiB)
    return Status::InvalidArgument(
        fmt::format("the estimate comes to more than 1 PiB per replica (weights {}, KV cache {})",
                    spec::FormatMiB(s.weights_mib), spec::FormatMiB(s.kv_cache_mib)),
        "A number in the model's files or in estimate: is off: check num_hidden_layers, "
        "hidden_size, vocab_size, max_model_len and concurrency.");
  return s;
}

uint64_t PerGpuMiB(uint64_t total_mib, uint64_t overhead_mib, int tp) {
  if (tp <= 1) return total_mib;
  uint64_t split = total_mib > overhead_mib ? total_mib - overhead_mib : 0;
  return (split + tp - 1) / tp + overhead_mib;
}

double MemoryFraction(uint64_t need_mib, uint64_t device_mib, bool alone) {
  if (device_mib == 0) return 0;
  double f = std::ceil(100.0 * double(need_mib) / double(device_mib) - 1e-9) / 100.0;
  if (alone) f = std::max(f, 0.90);
  return std::min(f, 1.0);
}

}  // namespace carve::plan
