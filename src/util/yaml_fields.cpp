#include "util/yaml_fields.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace carve::yaml {
namespace {

// Levenshtein distance, for "did you mean".
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string KeyHint(std::string_view key, std::initializer_list<std::string_view> allowed,
                    const std::string& docs) {
  std::string best;
  size_t best_d = 3;  // suggest only close matches
  std::string all;
  for (auto k : allowed) {
    all += (all.empty() ? "" : ", ") + std::string(k);
    size_t d = Distance(key, k);
    if (d < best_d) best_d = d, best = std::string(k);
  }
  std::string hint = best.empty() ? "" : fmt::format("Did you mean '{}'? ", best);
  return hint + "Known keys here: " + all + (docs.empty() ? "." : " (" + docs + ").");
}

}  // namespace

std::string Where::str() const { return line > 0 ? fmt::format("{}:{}", file, line) : file; }

Where WhereOf(const std::string& file, const YAML::Node& node) {
  return Where{file, node.Mark().line >= 0 ? node.Mark().line + 1 : 0};
}

Status ErrorAt(const std::string& file, const YAML::Node& node, const std::string& what,
               std::string hint) {
  return Status::InvalidArgument(fmt::format("{}: {}", WhereOf(file, node).str(), what),
                                 std::move(hint));
}

Result<YAML::Node> Parse(std::string_view text, const std::string& file) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
    if (docs.size() > 1)
      return ErrorAt(file, docs[1], "a second YAML document ('---'); carve reads one",
                     "Merge it into the first, or remove it.");
    return docs.empty() ? YAML::Node() : docs[0];
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(
        fmt::format("{}:{}: not valid YAML: {}", file, e.mark.line + 1, e.msg),
        "Check indentation and quoting near that line.");
  }
}

namespace {

// Aliases let a short file name one node many times ("billion laughs"); the
// walk counts every visit and gives up long before that could hang.
constexpr size_t kMaxVisits = 1'000'000;

Status NoDuplicateKeys(const std::string& file, const YAML::Node& node, size_t* visits) {
  if (++*visits > kMaxVisits)
    return ErrorAt(file, node,
                   fmt::format("holds more than {} values (YAML aliases that expand?)", kMaxVisits),
                   "Write the values out, without & and * aliases.");
  if (node.IsSequence())
    for (const auto& item : node) CARVE_RETURN_IF_ERROR(NoDuplicateKeys(file, item, visits));
  if (!node.IsMap()) return Status::Ok();
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (kv.first.IsScalar() && !seen.insert(kv.first.Scalar()).second)
      return ErrorAt(file, kv.first,
                     fmt::format("key '{}' is given twice in one mapping", kv.first.Scalar()),
                     "Keep one: YAML would silently read only the first.");
    CARVE_RETURN_IF_ERROR(NoDuplicateKeys(file, kv.second, visits));
  }
  return Status::Ok();
}

}  // namespace

Status CheckNoDuplicateKeys(const std::string& file, const YAML::Node& node) {
  size_t visits = 0;
  return NoDuplicateKeys(file, node, &visits);
}

Fields::Fields(const YAML::Node& node, std::string file, std::string what, std::string docs)
    : node_(node), file_(std::move(file)), what_(std::move(what)), docs_(std::move(docs)) {}

Status Fields::Err(std::string_view key, const std::string& what, std::string hint) const {
  YAML::Node at = key.empty() || !Has(key) ? node_ : node_[std::string(key)];
  std::string subject = key.empty() ? what_ : fmt::format("{}: '{}'", what_, key);
  return Status::InvalidArgument(fmt::format("{}: {} {}", WhereOf(file_, at).str(), subject, what),
                                 std::move(hint));
}

Status Fields::Check(std::initializer_list<std::string_view> allowed, std::string_view hint) const {
  if (!node_.IsMap()) return Err("", "must be a mapping (key: value lines)");
  for (const auto& kv : node_) {
    std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    return Status::InvalidArgument(
        fmt::format("{}: {} has unknown key '{}'", WhereOf(file_, kv.first).str(), what_, key),
        hint.empty() ? KeyHint(key, allowed, docs_) : std::string(hint));
  }
  return Status::Ok();
}

bool Fields::Has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)].IsDefined() && !node_[std::string(key)].IsNull();
}

YAML::Node Fields::Get(std::string_view key) const { return node_[std::string(key)]; }

Status Fields::Str(std::string_view key, std::string* out, bool required) const {
  if (!Has(key)) return required ? Err("", fmt::format("lacks '{}'", key)) : Status::Ok();
  YAML::Node n = Get(key);
  if (!n.IsScalar()) return Err(key, "must be a single value, not a list or mapping");
  *out = n.Scalar();
  return Status::Ok();
}

Status Fields::OptNumber(std::string_view key, std::optional<double>* out) const {
  if (!Has(key)) return Status::Ok();
  YAML::Node n = Get(key);
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v) || v < 0)
    return Err(key,
               fmt::format("is '{}', not a non-negative number", n.IsScalar() ? n.Scalar() : "…"));
  *out = v;
  return Status::Ok();
}

Status Fields::OptInt(std::string_view key, std::optional<int>* out) const {
  if (!Has(key)) return Status::Ok();
  int v = 0;
  CARVE_RETURN_IF_ERROR(Whole(key, &v));
  *out = v;
  return Status::Ok();
}

Status Fields::Whole(std::string_view key, int64_t min, int64_t max, int64_t* out,
                     bool open) const {
  YAML::Node n = Get(key);
  long long v = 0;
  if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v) || v < min || v > max) {
    std::string range = open ? fmt::format("≥ {}", min) : fmt::format("from {} to {}", min, max);
    return Err(
        key, fmt::format("is '{}', not a whole number {}", n.IsScalar() ? n.Scalar() : "…", range));
  }
  *out = v;
  return Status::Ok();
}

Status Fields::Int(std::string_view key, int* out, bool required) const {
  if (!Has(key)) return required ? Err("", fmt::format("lacks '{}'", key)) : Status::Ok();
  std::optional<int> v;
  CARVE_RETURN_IF_ERROR(OptInt(key, &v));
  *out = *v;
  return Status::Ok();
}

Status Fields::Bool(std::string_view key, bool* out) const {
  if (!Has(key)) return Status::Ok();
  YAML::Node n = Get(key);
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, *out))
    return Err(key, fmt::format("is '{}', not true or false", n.IsScalar() ? n.Scalar() : "…"));
  return Status::Ok();
}

Status Fields::OptBool(std::string_view key, std::optional<bool>* out) const {
  if (!Has(key)) return Status::Ok();
  bool v = false;
  CARVE_RETURN_IF_ERROR(Bool(key, &v));
  *out = v;
  return Status::Ok();
}

Status Fields::StrList(std::string_view key, std::vector<std::string>* out) const {
  if (!Has(key)) return Status::Ok();
  YAML::Node n = Get(key);
  if (!n.IsSequence()) return Err(key, "must be a list, e.g. [a, b]");
  for (const auto& item : n) {
    if (!item.IsScalar()) return Err(key, "must be a list of plain values");
    out->push_back(item.Scalar());
  }
  return Status::Ok();
}

Status Fields::EnvMap(std::string_view key, std::map<std::string, std::string>* out) const {
  if (!Has(key)) return Status::Ok();
  YAML::Node n = Get(key);
  if (!n.IsMap()) return Err(key, "must be a mapping, e.g. {HF_HOME: /models}");
  for (const auto& kv : n) {
    std::string name = kv.first.Scalar();
    bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
              std::all_of(name.begin(), name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
              });
    if (!ok)
      return Err(key, fmt::format("'{}' is not an environment variable name", name),
                 "Use letters, digits and _, not starting with a digit.");
    if (!kv.second.IsScalar()) return Err(key, fmt::format("{} must be a plain value", name));
    (*out)[name] = kv.second.Scalar();
  }
  return Status::Ok();
}

}  // namespace carve::yaml
