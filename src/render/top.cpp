#include "render/top.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "render/top_panes.h"

namespace carve::render {
namespace {

using Json = nlohmann::ordered_json;

// Each GPU index of the status, in its order.
std::vector<int> GpuIndices(const Json& status) {
  std::vector<int> out;
  for (const auto& g : top::Items(status, "gpus"))
    if (auto i = top::Num(g, "index")) out.push_back(static_cast<int>(*i));
  return out;
}

// All, then each GPU in turn, then all again.
int NextGpu(const Json& status, int current) {
  auto gpus = GpuIndices(status);
  auto it = std::find(gpus.begin(), gpus.end(), current);
  if (current < 0 || it == gpus.end()) return gpus.empty() ? -1 : gpus.front();
  return ++it == gpus.end() ? -1 : *it;
}

const char* SortName(TopView::Sort s) {
  switch (s) {
    case TopView::Sort::kName:
      return "name";
    case TopView::Sort::kRequests:
      return "req/s";
    case TopView::Sort::kP99:
      return "p99";
    case TopView::Sort::kErrors:
      return "errors";
  }
  return "";
}

// Where the status came from: the carve up that wrote it, or the machine.
std::string SourceLine(const Json& status, const TopView& view) {
  std::string out = view.clock.empty() ? "" : view.clock + "  ";
  out += "carve top · ";
  auto pid = top::Num(status, "pid");
  if (!pid)
    return out + fmt::format("no carve up in {}: the machine only", top::Str(status, "state_dir"));
  out += fmt::format("carve up pid {:.0f}", *pid);
  if (std::string spec = top::Str(status, "spec"); !spec.empty()) out += " · " + spec;
  if (std::string url = top::Str(top::Field(status, "gateway"), "url"); !url.empty())
    out += " · " + url;
  return out;
}

// The panes, the current one in brackets, and the other keys.
std::string KeysLine(const TopView& view, const Style& style) {
  struct PaneKey {
    TopView::Pane pane;
    const char* text;
  };
  std::string out;
  for (const auto& p :
       {PaneKey{TopView::Pane::kGpus, "g GPUs"}, PaneKey{TopView::Pane::kSlices, "s slices"},
        PaneKey{TopView::Pane::kModels, "m models"}})
    out += (p.pane == view.pane ? style.Bold(fmt::format("[{}]", p.text))
                                : fmt::format(" {} ", p.text)) +
           " ";
  std::string gpu = view.gpu < 0 ? "all" : std::to_string(view.gpu);
  return out + fmt::format("· o sort: {} · tab GPU: {} · q quit", SortName(view.sort), gpu);
}

// `line` cut to `width` columns; a colour cut open is closed.
std::string Cut(std::string_view line, int width) {
  std::string out;
  int cols = 0;
  bool styled = false;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\033') {
      size_t end = std::min(line.find('m', i), line.size() - 1);
      out.append(line.substr(i, end - i + 1));
      styled = true;
      i = end;
      continue;
    }
    if ((line[i] & 0xC0) != 0x80 && cols++ == width) return styled ? out + "\033[0m" : out;
    out += line[i];
  }
  return out;
}

}  // namespace

bool ApplyTopKey(int key, const Json& status, TopView& view) {
  switch (key) {
    case 'q':
    case 'Q':
      return false;
    case 'g':
      view.pane = TopView::Pane::kGpus;
      break;
    case 's':
      view.pane = TopView::Pane::kSlices;
      break;
    case 'm':
      view.pane = TopView::Pane::kModels;
      break;
    case 'o':
      view.sort = static_cast<TopView::Sort>((static_cast<int>(view.sort) + 1) % 4);
      break;
    case '\t':
      view.gpu = NextGpu(status, view.gpu);
      break;
    default:
      break;
  }
  return true;
}

std::string RenderTop(const Json& status, const TopView& view, int width, int height,
                      const Style& style) {
  std::vector<std::string> lines = {style.Bold(SourceLine(status, view)), KeysLine(view, style)};
  if (std::string err = top::Str(status, "reload_error"); !err.empty())
    lines.push_back(style.Red("last reload failed: " + err));
  lines.push_back("");
  std::vector<std::string> pane;
  switch (view.pane) {
    case TopView::Pane::kGpus:
      pane = top::GpusPane(status, view, style);
      break;
    case TopView::Pane::kSlices:
      pane = top::SlicesPane(status, view, width, style);
      break;
    case TopView::Pane::kModels:
      pane = top::ModelsPane(status, view, style);
      break;
  }
  lines.insert(lines.end(), pane.begin(), pane.end());
  width = std::max(width, 1);
  height = std::max(height, 0);
  if (static_cast<int>(lines.size()) > height && height > 0) {
    size_t more = lines.size() - (height - 1);
    lines.resize(height - 1);
    lines.push_back(
        style.Dim(fmt::format("… {} more lines: a taller terminal, or tab for one GPU", more)));
  }
  std::string out;
  for (int i = 0; i < std::min<int>(height, lines.size()); ++i) out += Cut(lines[i], width) + "\n";
  return out;
}

}  // namespace carve::render
