#include "spec/model_files.h"

#include "spec/hf_cache.h"
#include "spec/spec.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace carve::spec {
namespace fs = std::filesystem;
namespace {

Result<std::string> ReadText(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return Status::NotFound(fmt::format("cannot read '{}'", p.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The checkpoint's size: the index's metadata.total_size, else the sum of
// *.safetensors files in the directory.
uint64_t SafetensorsBytes(const fs::path& dir) {
  auto index = ReadText(dir / "model.safetensors.index.json");
  if (index.ok()) {
    auto j = nlohmann::json::parse(*index, nullptr, false);
    if (j.is_object() && j.contains("metadata") && j["metadata"].contains("total_size") &&
        j["metadata"]["total_size"].is_number())
      return j["metadata"]["total_size"].get<uint64_t>();
  }
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors") total += e.file_size(ec);
  return total;
}

}  // namespace

Result<ModelFiles> ReadModelFiles(const std::string& config, const std::string& gguf) {
  ModelFiles out;
  if (!gguf.empty()) {
    std::error_code ec;
    out.gguf_size = fs::file_size(gguf, ec);
    if (ec) return Status::NotFound(fmt::format("cannot read GGUF file '{}'", gguf), "Check estimate.gguf.");
    std::ifstream in(gguf, std::ios::binary);
    // Metadata with a large tokenizer vocabulary runs to a few MiB; 64 MiB is ample.
    out.gguf_header.resize(std::min<uint64_t>(out.gguf_size, 64ull << 20));
    in.read(reinterpret_cast<char*>(out.gguf_header.data()), std::streamsize(out.gguf_header.size()));
    out.description = gguf;
    return out;
  }
  fs::path p(config);
  fs::path dir = fs::is_directory(p) ? p : p.parent_path();
  fs::path file = fs::is_directory(p) ? p / "config.json" : p;
  auto text = ReadText(file);
  if (!text.ok())
    return Status::NotFound(fmt::format("cannot read '{}'", file.string()),
                            "estimate.config takes a config.json or the model directory holding it.");
  out.config_json = std::move(*text);
  out.safetensors_bytes = SafetensorsBytes(dir.empty() ? fs::path(".") : dir);
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
