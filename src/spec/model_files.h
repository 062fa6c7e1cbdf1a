// Reads the files an `estimate:` points at: a Hugging Face config.json (and
// the checkpoint's size from model.safetensors.index.json or the
// *.safetensors files beside it), or a GGUF file's header. The planner sizes
// from these bytes; it never touches the disk itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/status.h"

namespace carve::spec {

struct ModelFiles {
  std::string config_json;         // empty for GGUF
  uint64_t safetensors_bytes = 0;  // 0 when unknown
  std::vector<uint8_t> gguf_header;
  uint64_t gguf_size = 0;
  std::string description;  // which files were read, for messages
};

// `config` is a config.json path or a directory holding one; `gguf` a .gguf path.
Result<ModelFiles> ReadModelFiles(const std::string& config, const std::string& gguf);

// The files an estimate names: its config or GGUF, or its hub id's snapshot
// in the local Hugging Face cache (hf_cache.h).
struct Estimate;
Result<ModelFiles> ReadModelFilesFor(const Estimate& estimate);

// Whether `path` looks like a model (a directory with config.json, a
// config.json, or a .gguf file) rather than a spec, for `carve size`.
bool LooksLikeModel(const std::string& path);

}  // namespace carve::spec
