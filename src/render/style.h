// Colour for people at a terminal, and nothing for pipes, files or NO_COLOR.
#pragma once

#include <string>
#include <string_view>

namespace carve::render {

class Style {
 public:
  // Colour only when stdout is a terminal and neither `no_color` nor $NO_COLOR says no.
  static Style ForStdout(bool no_color);
  explicit Style(bool color) : color_(color) {}

  std::string Bold(std::string_view s) const { return Wrap("1", s); }
  std::string Dim(std::string_view s) const { return Wrap("2", s); }
  std::string Green(std::string_view s) const { return Wrap("32", s); }
  std::string Yellow(std::string_view s) const { return Wrap("33", s); }
  std::string Red(std::string_view s) const { return Wrap("31", s); }
  bool color() const { return color_; }

 private:
  std::string Wrap(std::string_view code, std::string_view s) const;
  bool color_;
};

}  // namespace carve::render
