#include "cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace carve::cli {
namespace {

void WriteAll(const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    ssize_t n = ::write(STDOUT_FILENO, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the terminal went away: nothing left to draw on
    done += static_cast<size_t>(n);
  }
}

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int n = v ? std::atoi(v) : 0;
  return n > 0 ? n : fallback;
}

}  // namespace

TermSize TerminalSize(int fd, TermSize fallback) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
    return {ws.ws_col, ws.ws_row};
  return fallback;
}

TermSize EnvSize(TermSize fallback) {
  return {EnvInt("COLUMNS", fallback.width), EnvInt("LINES", fallback.height)};
}

FullScreen::FullScreen() {
  if (::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    termios raw = saved_;
    raw.c_lflag &= ~(ICANON | ECHO);  // ISIG stays: Ctrl-C arrives as SIGINT
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    raw_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
  }
  WriteAll("\033[?1049h\033[?25l\033[H\033[2J");
}

FullScreen::~FullScreen() {
  WriteAll("\033[0m\033[?25h\033[?1049l");
  if (raw_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
}

void FullScreen::Draw(const std::string& screen) {
  // Home, then each line over the old one with the rest of it erased: no flicker.
  std::string out = "\033[H";
  for (size_t at = 0, nl; (nl = screen.find('\n', at)) != std::string::npos; at = nl + 1)
    out += screen.substr(at, nl - at) + "\033[K\r\n";
  if (out.size() > 3) out.resize(out.size() - 2);  // no newline after the last: no scrolling
  WriteAll(out + "\033[J");
}

}  // namespace carve::cli
