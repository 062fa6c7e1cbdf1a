#include "spec/model_files.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "spec/hf_cache.h"
#include "spec/spec.h"
#include "util/read_file.h"

namespace carve::spec {
namespace fs = std::filesystem;
namespace {

// A sharded checkpoint's index lists every tensor: a few MiB for the largest
// models. GGUF metadata with a large tokenizer vocabulary runs to a few MiB.
constexpr size_t kMaxIndexBytes = size_t{64} << 20;
constexpr size_t kMaxGgufHeaderBytes = size_t{64} << 20;

// The checkpoint's size: the index's metadata.total_size, else the sum of
// *.safetensors files in the directory.
Result<uint64_t> SafetensorsBytes(const fs::path& dir) {
  auto index = ReadFileBounded((dir / "model.safetensors.index.json").string(), kMaxIndexBytes,
                               "safetensors index");
  if (!index.ok() && index.status().code() != Code::kNotFound) return index.status();
  if (index.ok()) {
    auto j = nlohmann::json::parse(*index, nullptr, false);
    if (j.is_object() && j.contains("metadata") && j["metadata"].contains("total_size") &&
        j["metadata"]["total_size"].is_number_unsigned())
      return j["metadata"]["total_size"].get<uint64_t>();
  }
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors") total += e.file_size(ec);
  return total;
}

Result<ModelFiles> ReadGguf(const std::string& gguf) {
  ModelFiles out;
  uint64_t size = 0;
  auto head = ReadFileHead(gguf, kMaxGgufHeaderBytes, "GGUF file", &size);
  if (!head.ok()) return head.status().WithHint("estimate.gguf takes a .gguf file.");
  out.gguf_size = size;
  out.gguf_header.assign(head->begin(), head->end());
  out.description = gguf;
  return out;
}

}  // namespace

Result<ModelFiles> ReadModelFiles(const std::string& config, const std::string& gguf) {
  if (!gguf.empty()) return ReadGguf(gguf);
  ModelFiles out;
  fs::path p(config);
  fs::path dir = fs::is_directory(p) ? p : p.parent_path();
  fs::path file = fs::is_directory(p) ? p / "config.json" : p;
  auto text = ReadFileBounded(file.string(), kMaxConfigBytes, "model config");
  if (!text.ok())
    return text.status().WithHint(
        "estimate.config takes a config.json or the model directory holding it.");
  out.config_json = std::move(*text);
  CARVE_ASSIGN_OR_RETURN(out.safetensors_bytes,
                         SafetensorsBytes(dir.empty() ? fs::path(".") : dir));
  out.description = file.string();
  return out;
}

Result<ModelFiles> ReadModelFilesFor(const Estimate& e) {
  if (e.hub_id.empty()) return ReadModelFiles(e.config, e.gguf);
  CARVE_ASSIGN_OR_RETURN(std::string dir, FindInHubCache(e.hub_id));
  return ReadModelFiles(dir, "");
}

bool LooksLikeModel(const std::string& path) {
  fs::path p(path);
  if (fs::is_directory(p)) return fs::exists(p / "config.json");
  return p.extension() == ".gguf" || p.filename() == "config.json";
}

}  // namespace carve::spec
