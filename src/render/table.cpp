#include "render/table.h"

#include <fmt/format.h>

#include <algorithm>

namespace carve::render {

size_t DisplayWidth(std::string_view s) {
  size_t w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\033') {  // a colour (Style::Wrap's "ESC[...m") takes no column
      i = s.find('m', i);
      if (i == std::string_view::npos) break;
    } else if ((s[i] & 0xC0) != 0x80) {
      ++w;
    }
  }
  return w;
}

std::string PadRight(std::string_view s, size_t width) {
  size_t w = DisplayWidth(s);
  return std::string(s) + std::string(w < width ? width - w : 0, ' ');
}

std::string PadLeft(std::string_view s, size_t width) {
  size_t w = DisplayWidth(s);
  return std::string(w < width ? width - w : 0, ' ') + std::string(s);
}

Table::Table(std::vector<std::string> headers) {
  for (auto& h : headers) {
    bool right = !h.empty() && h.back() == '>';
    if (right) h.pop_back();
    right_.push_back(right);
    headers_.push_back(std::move(h));
  }
}

void Table::Add(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

std::string Table::Render(std::string_view indent) const {
  std::vector<size_t> width(headers_.size());
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  };
  measure(headers_);
  for (const auto& r : rows_) measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string l(indent);
    for (size_t i = 0; i < row.size(); ++i) {
      bool last = i + 1 == row.size();
      if (right_[i])
        l += PadLeft(row[i], width[i]);
      else
        l += last ? row[i] : PadRight(row[i], width[i]);
      if (!last) l += "  ";
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
  return out;
}

std::string Gib(uint64_t mib, int decimals) {
  return fmt::format("{:.{}f} GiB", mib / 1024.0, decimals);
}

std::string ShortUuid(std::string_view uuid) {
  if (uuid.size() <= 14) return std::string(uuid);
  return std::string(uuid.substr(0, 8)) + "…" + std::string(uuid.substr(uuid.size() - 2));
}

}  // namespace carve::render
