// A small YAML writer for rendered manifests: ordered JSON in, block-style
// YAML out, keys in insertion order (so output is as deterministic as its
// input). Strings a YAML 1.1 or 1.2 reader could take for a number, bool or
// null are double-quoted; multi-line strings become literal blocks.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace carve::render::k8s {

using Json = nlohmann::ordered_json;

// One YAML document (no leading "---").
std::string ToYaml(const Json& value);
// Documents joined by "---" lines.
std::string ToYamlDocs(const std::vector<Json>& docs);
// `text` as a YAML scalar: plain when safe, double-quoted otherwise.
std::string YamlScalar(const std::string& text);

}  // namespace carve::render::k8s
