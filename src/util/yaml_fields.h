// Strict reading of YAML, the one reader behind every YAML format carve reads
// (the spec, layout files, mig-parted configs, the gateway config): a whole
// document at a time, every key known, every value of the right type, and
// every error at FILE:LINE saying what to write instead. yaml-cpp throws;
// this keeps its exceptions inside.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace carve::yaml {

// A place in a file, for messages: "carve.yaml:12".
struct Where {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  std::string str() const;
};

// Where `node` is in `file`.
Where WhereOf(const std::string& file, const YAML::Node& node);

// "FILE:LINE: what" at `node`.
Status ErrorAt(const std::string& file, const YAML::Node& node, const std::string& what,
               std::string hint = {});

// Parses `text` as one YAML document ("FILE:LINE: not valid YAML: …"; a
// second '---' document is refused). An empty text is a null node.
Result<YAML::Node> Parse(std::string_view text, const std::string& file);

// yaml-cpp keeps both of a mapping's repeated keys and reads the first, so a
// second `timeouts:` would be silently ignored: this refuses it, anywhere
// under `node`.
Status CheckNoDuplicateKeys(const std::string& file, const YAML::Node& node);

// One mapping, read key by key. Every reader of an optional key leaves `out`
// alone when the key is absent or null.
class Fields {
 public:
  // `what` names the mapping in messages ("model 'qwen3-4b'"); `docs` is the
  // page that lists its keys.
  Fields(const YAML::Node& node, std::string file, std::string what,
         std::string docs = "docs/spec.md");

  // Fails on a key outside `allowed`, suggesting the nearest known key (or
  // with `hint` instead, when given).
  Status Check(std::initializer_list<std::string_view> allowed, std::string_view hint = {}) const;
  bool Has(std::string_view key) const;
  YAML::Node Get(std::string_view key) const;

  Status Str(std::string_view key, std::string* out, bool required = false) const;
  Status Int(std::string_view key, int* out, bool required = false) const;
  Status OptInt(std::string_view key, std::optional<int>* out) const;
  // A whole number from `min` to `max` (worded "≥ min" when `open`: max is
  // only the type's limit).
  Status Whole(std::string_view key, int64_t min, int64_t max, int64_t* out,
               bool open = false) const;
  template <typename T>
  Status Whole(std::string_view key, T* out, T min = 0,
               T max = std::numeric_limits<T>::max()) const {
    if (!Has(key)) return Status::Ok();
    int64_t v = 0;
    int64_t hi = std::in_range<int64_t>(max) ? static_cast<int64_t>(max)
                                             : std::numeric_limits<int64_t>::max();
    CARVE_RETURN_IF_ERROR(
        Whole(key, static_cast<int64_t>(min), hi, &v, max == std::numeric_limits<T>::max()));
    *out = static_cast<T>(v);
    return Status::Ok();
  }
  Status OptNumber(std::string_view key, std::optional<double>* out) const;
  Status Bool(std::string_view key, bool* out) const;
  Status OptBool(std::string_view key, std::optional<bool>* out) const;
  Status StrList(std::string_view key, std::vector<std::string>* out) const;
  // A mapping of environment variables: NAME (letters, digits, _) to a value.
  Status EnvMap(std::string_view key, std::map<std::string, std::string>* out) const;

  // An error about `key` (or the mapping itself when key is empty).
  Status Err(std::string_view key, const std::string& what, std::string hint = {}) const;
  Where where() const { return WhereOf(file_, node_); }
  const std::string& file() const { return file_; }
  const YAML::Node& node() const { return node_; }

 private:
  YAML::Node node_;
  std::string file_;
  std::string what_;
  std::string docs_;
};

}  // namespace carve::yaml
