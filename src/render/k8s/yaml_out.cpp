#include "render/k8s/yaml_out.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace carve::render::k8s {
namespace {

bool Reserved(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* kWords[] = {"true", "false", "yes",  "no", "on", "off",
                                 "y",    "n",     "null", "~",  ""};
  return std::any_of(std::begin(kWords), std::end(kWords), [&](const char* w) { return s == w; });
}

// Digits with the characters numbers, dates and sexagesimals use (YAML 1.1).
bool NumberLike(const std::string& s) {
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i < s.size() && s[i] == '.') ++i;  // .5, .inf
  if (i >= s.size()) return true;
  if (!std::isdigit(static_cast<unsigned char>(s[i])))
    return s.substr(i) == "inf" || s.substr(i) == "nan";
  return s.find_first_not_of("0123456789_:.eE+-xXoObBaAcCdDfF") == std::string::npos;
}

bool Plain(const std::string& s) {
  if (Reserved(s) || NumberLike(s)) return false;
  if (!std::isalnum(static_cast<unsigned char>(s[0])) && s[0] != '/' && s[0] != '$') return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':')
    return false;
  return s.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
             "_./+@:=- ()$,") == std::string::npos &&
         s.back() != ' ';
}

std::string Pad(int n) { return std::string(size_t(n), ' '); }

bool Scalar(const Json& v) { return !v.is_structured() || v.empty(); }

std::string ScalarText(const Json& v) {
  if (v.is_string()) return YamlScalar(v.get<std::string>());
  if (v.is_object()) return "{}";
  if (v.is_array()) return "[]";
  return v.dump();
}

void Emit(const Json& v, int indent, std::string& out);

// A value after "key:" or "- ": inline when scalar, else on the next lines.
void EmitAfter(const Json& v, int indent, std::string& out) {
  if (v.is_string() && v.get<std::string>().find('\n') != std::string::npos) {
    const std::string& s = v.get<std::string>();
    out += s.back() == '\n' ? " |\n" : " |-\n";
    size_t pos = 0;
    while (pos < s.size()) {
      size_t nl = s.find('\n', pos);
      std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      out += line.empty() ? "\n" : Pad(indent + 2) + line + "\n";
      pos = nl == std::string::npos ? s.size() : nl + 1;
    }
  } else if (Scalar(v)) {
    out += " " + ScalarText(v) + "\n";
  } else {
    out += "\n";
    Emit(v, indent + 2, out);
  }
}

void Emit(const Json& v, int indent, std::string& out) {
  if (v.is_object()) {
    for (const auto& [k, item] : v.items()) {
      out += Pad(indent) + YamlScalar(k) + ":";
      EmitAfter(item, indent, out);
    }
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (item.is_object() && !item.empty()) {
        std::string inner;
        Emit(item, indent + 2, inner);
        out += Pad(indent) + "- " + inner.substr(size_t(indent) + 2);
      } else {
        out += Pad(indent) + "-";
        EmitAfter(item, indent, out);
      }
    }
  } else {
    out += Pad(indent) + ScalarText(v) + "\n";
  }
}

}  // namespace

std::string YamlScalar(const std::string& text) {
  if (Plain(text)) return text;
  return Json(text).dump();  // a JSON string is a valid YAML double-quoted scalar
}

std::string ToYaml(const Json& value) {
  std::string out;
  Emit(value, 0, out);
  return out;
}

std::string ToYamlDocs(const std::vector<Json>& docs) {
  std::string out;
  for (size_t i = 0; i < docs.size(); ++i) out += (i ? "---\n" : "") + ToYaml(docs[i]);
  return out;
}

}  // namespace carve::render::k8s
