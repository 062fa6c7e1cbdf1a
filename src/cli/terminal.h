// The terminal a full-screen verb (carve top) draws on. While a FullScreen
// lives: the alternate screen, no cursor, keys read one by one without echo
// (Ctrl-C still signals); its destructor gives the terminal back as it was,
// so every return path restores it. One per process; not thread-safe.
#pragma once

#include <termios.h>

#include <string>

namespace carve::cli {

struct TermSize {
  int width = 80, height = 24;
};

// The size of the terminal on `fd`; `fallback` when it is none.
TermSize TerminalSize(int fd, TermSize fallback);
// $COLUMNS and $LINES where set, each over `fallback`.
TermSize EnvSize(TermSize fallback);

class FullScreen {
 public:
  // Takes over the terminal on stdin (keys) and stdout (screen), both TTYs.
  FullScreen();
  ~FullScreen();
  FullScreen(const FullScreen&) = delete;
  FullScreen& operator=(const FullScreen&) = delete;

  // Replaces what is on the screen with `screen` (lines ended by '\n').
  void Draw(const std::string& screen);

 private:
  termios saved_{};
  bool raw_ = false;
};

}  // namespace carve::cli
