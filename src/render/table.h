// Plain-text tables for the terminal: columns sized to their widest cell
// (measured in terminal columns, so box-drawing characters count as one).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace carve::render {

// Terminal columns `s` takes (UTF-8 code points; no wide characters used;
// Style's colour sequences take none, so coloured cells line up).
size_t DisplayWidth(std::string_view s);
std::string PadRight(std::string_view s, size_t width);
std::string PadLeft(std::string_view s, size_t width);

class Table {
 public:
  // A trailing '>' in a header right-aligns that column ("memory>").
  explicit Table(std::vector<std::string> headers);
  void Add(std::vector<std::string> row);
  // The table, each line prefixed by `indent`; the last column is not padded.
  std::string Render(std::string_view indent = "") const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// "9.75 GiB" from MiB, two decimals like nvidia-smi; "79.3 GiB" with one.
std::string Gib(uint64_t mib, int decimals = 2);
// "GPU-5c1b…e2": a UUID shortened for tables.
std::string ShortUuid(std::string_view uuid);

}  // namespace carve::render
