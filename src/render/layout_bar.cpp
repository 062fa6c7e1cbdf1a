#include "render/layout_bar.h"

#include <fmt/format.h>

#include <algorithm>

#include "render/table.h"

namespace carve::render {
namespace {

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// The longest of `label`, its part before the first '.' (a profile's "1g";
// with `head`), or nothing, that fits.
std::string Fit(const std::string& label, int width, bool head_too = true) {
  if (static_cast<int>(DisplayWidth(label)) <= width) return label;
  if (!head_too) return "";
  std::string head = label.substr(0, label.find('.'));
  if (static_cast<int>(DisplayWidth(head)) <= width) return head;
  return "";
}

// The start of `label` and "…" in `width` columns (a model's name in a
// narrow slice); nothing where not even one character fits beside the "…".
std::string Cut(const std::string& label, int width) {
  if (width < 2) return "";
  std::string cut;
  for (size_t i = 0; i < label.size();) {
    size_t n = 1;  // the bytes of this UTF-8 character
    while (i + n < label.size() && (static_cast<unsigned char>(label[i + n]) & 0xC0) == 0x80) ++n;
    if (static_cast<int>(DisplayWidth(cut + label.substr(i, n))) > width - 1) break;
    cut += label.substr(i, n);
    i += n;
  }
  return cut.empty() ? "" : cut + "…";
}

}  // namespace

int UnitWidth(int units) { return std::max(3, 40 / std::max(units, 1)); }

std::vector<std::string> DrawBar(int units, std::vector<BarSegment> segments) {
  int w = UnitWidth(units);
  units = std::max(units, 0);
  // A segment outside the bar, or one of no width, cannot be drawn: it is
  // dropped rather than trusted (callers pass what a machine reported).
  std::erase_if(segments, [units](const BarSegment& s) {
    return s.start < 0 || s.size <= 0 || s.start >= units || s.size > units - s.start;
  });
  std::vector<bool> covered(units, false);
  for (const auto& s : segments)
    for (int u = s.start; u < s.start + s.size; ++u) covered[u] = true;
  for (int u = 0; u < units; ++u)
    if (!covered[u]) segments.push_back(BarSegment{u, 1, "", ""});
  std::sort(segments.begin(), segments.end(),
            [](const BarSegment& a, const BarSegment& b) { return a.start < b.start; });
  std::string top = "┌", mid = "│", bottom = "└";
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    int inner = s.size * w - 1;
    std::string t = Fit(s.top, inner);
    // " GI 11", then "GI 11", then just "11".
    std::string m = Fit(s.middle.empty() ? "" : " " + s.middle, inner, false);
    if (m.empty()) m = Fit(s.middle, inner, false);
    if (m.empty() && s.middle.rfind("GI ", 0) == 0) m = Fit(s.middle.substr(3), inner);
    if (m.empty()) m = Cut(s.middle, inner);
    bool last = i + 1 == segments.size();
    top += t + Repeat("─", inner - static_cast<int>(DisplayWidth(t))) + (last ? "┐" : "┬");
    mid += PadRight(m, inner) + "│";
    bottom += Repeat("─", inner) + (last ? "┘" : "┴");
  }
  std::string axis = " ";
  for (int u = 0; u < units; ++u) axis += PadRight(std::to_string(u), w);
  axis += "placement units";
  return {top, mid, bottom, axis};
}

std::vector<std::string> DrawGpu(const device::Gpu& gpu) {
  int units = gpu.model ? gpu.model->placement_units : 0;
  for (const auto& gi :
       gpu.gpu_instances)  // a GPU outside the catalogue: as far as NVML's placements go
    units = std::max(units, gi.placement.end());
  std::vector<BarSegment> segs;
  for (const auto& gi : gpu.gpu_instances)
    segs.push_back(
        {gi.placement.start, gi.placement.size, gi.profile, fmt::format("GI {}", gi.id)});
  return DrawBar(units, segs);
}

std::vector<std::string> FaultLines(const device::Gpu& gpu, const Style& style) {
  std::vector<std::string> out;
  for (const auto& gi : gpu.gpu_instances)
    if (!gi.fault.empty())
      out.push_back(fmt::format("{}  GI {} ({}@{}): {}", style.Red("FAULT"), gi.id, gi.profile,
                                gi.placement.start, gi.fault));
  return out;
}

std::string MigModeText(const device::Gpu& gpu, const Style& style) {
  if (!gpu.mig_capable) return style.Dim("no MIG ");
  std::string now = gpu.mig.current ? style.Green("MIG on ") : "MIG off";
  if (gpu.mig.pending == gpu.mig.current) return now;
  return now + style.Yellow(gpu.mig.pending ? " (on pending)" : " (off pending)");
}

}  // namespace carve::render
