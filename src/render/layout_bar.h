// Layout pictures: a GPU's placement units drawn as a box, one cell per unit,
// each slice one segment labelled with its profile and instance id.
//
//   ┌2g.20gb──┬1g─┬1g─┬3g.40gb──────────┐
//   │ GI 3    │ 9 │10 │ GI 2            │
//   └─────────┴───┴───┴─────────────────┘
//    0    1    2    3    4    5    6    7   placement units
#pragma once

#include <string>
#include <vector>

#include "device/machine.h"
#include "render/style.h"

namespace carve::render {

struct BarSegment {
  int start = 0;
  int size = 1;
  std::string top;     // e.g. the profile name; shortened to fit
  std::string middle;  // e.g. "GI 3"; shortened to fit
};

// Columns per placement unit so a bar is about 40 columns wide.
int UnitWidth(int units);
// The four lines of the picture (top, middle, bottom, axis). Units no segment
// covers are drawn as empty cells.
std::vector<std::string> DrawBar(int units, std::vector<BarSegment> segments);
// The picture of one GPU's GPU instances.
std::vector<std::string> DrawGpu(const device::Gpu& gpu);
// One line per failed GPU instance of `gpu`: "FAULT  GI 11 (1g.10gb@4): Xid
// 94: contained ECC error", the word in red; none while all are healthy.
std::vector<std::string> FaultLines(const device::Gpu& gpu, const Style& style);
// "MIG on", "MIG off", "MIG off (on pending)", "no MIG", coloured by `style`.
std::string MigModeText(const device::Gpu& gpu, const Style& style);

}  // namespace carve::render
