// Reading layout files with every error at FILE:LINE (internal to apply/).
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "util/status.h"

namespace carve::apply {

struct Doc {
  std::string path;
  std::string At(const YAML::Node& n) const {
    return fmt::format("{}:{}", path, n.Mark().line + 1);
  }
  Status Bad(const YAML::Node& n, const std::string& msg, std::string hint = {}) const {
    return Status::InvalidArgument(At(n) + ": " + msg, std::move(hint));
  }
};

// Fails at the first key of `map` outside `keys`: "unknown key 'x'" with the
// known keys as the hint, or `unknown_note` after the key when given.
Status CheckKeys(const Doc& doc, const YAML::Node& map,
                 std::initializer_list<std::string_view> keys, std::string_view unknown_note = {});

}  // namespace carve::apply
