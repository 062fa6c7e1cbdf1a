// Strict reading of one YAML mapping: every key must be known, every value of
// the right type, and every error names file:line and what to write instead.
// yaml-cpp throws; this class keeps the exceptions inside.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.h"
#include "util/status.h"

namespace carve::spec {

// Where `node` is in `file`.
Where WhereOf(const std::string& file, const YAML::Node& node);

class Fields {
 public:
  // `what` names the mapping in messages ("model 'qwen3-4b'").
  Fields(const YAML::Node& node, std::string file, std::string what);

  // Fails on a key outside `allowed`, suggesting the nearest known key.
  Status Check(std::initializer_list<std::string_view> allowed) const;
  bool Has(std::string_view key) const;
  YAML::Node Get(std::string_view key) const;

  Status Str(std::string_view key, std::string* out, bool required = false) const;
  Status Int(std::string_view key, int* out, bool required = false) const;
  Status OptInt(std::string_view key, std::optional<int>* out) const;
  Status OptNumber(std::string_view key, std::optional<double>* out) const;
  Status Bool(std::string_view key, bool* out) const;
  Status StrList(std::string_view key, std::vector<std::string>* out) const;
  // A mapping of environment variables: NAME (letters, digits, _) to a value.
  Status EnvMap(std::string_view key, std::map<std::string, std::string>* out) const;
  Status OptMemory(std::string_view key, std::optional<uint64_t>* out) const;

  // An error about `key` (or the mapping itself when key is empty).
  Status Err(std::string_view key, const std::string& what, std::string hint = {}) const;
  Where where() const { return WhereOf(file_, node_); }
  const std::string& file() const { return file_; }

 private:
  YAML::Node node_;
  std::string file_;
  std::string what_;
};

}  // namespace carve::spec
