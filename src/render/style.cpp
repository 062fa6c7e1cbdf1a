#include "render/style.h"

#include <unistd.h>

#include <cstdlib>

namespace carve::render {

Style Style::ForStdout(bool no_color) {
  return Style(!no_color && std::getenv("NO_COLOR") == nullptr && ::isatty(STDOUT_FILENO));
}

std::string Style::Wrap(std::string_view code, std::string_view s) const {
  if (!color_ || s.empty()) return std::string(s);
  return "\033[" + std::string(code) + "m" + std::string(s) + "\033[0m";
}

}  // namespace carve::render
