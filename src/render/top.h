// carve top's screen: a status (STATE_DIR/status.json as carve up writes it,
// up/status.h and up/observe.h, or the machine's own `gpus`/`slices`/`fits`/
// `stranded_units` when no carve up runs) drawn as one of three panes and cut
// to the terminal. Pure: the verb reads the status and the keys, and every
// field of the status is optional here (an older carve up writes fewer; a
// missing one shows as "-").
//
// A status without "pid" is the machine only: no replicas, no traffic; its
// "state_dir" names where no carve up was found.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "render/style.h"

namespace carve::render {

struct TopView {
  enum class Pane { kGpus, kSlices, kModels };
  // The models pane's order: by name, or the busiest, slowest, most failing first.
  enum class Sort { kName, kRequests, kP99, kErrors };
  Pane pane = Pane::kGpus;
  Sort sort = Sort::kName;
  int gpu = -1;       // the one GPU the GPUs and slices panes show; -1: all
  std::string clock;  // "14:02:11" for the header; empty: none
};

// What key `key` (a byte read from the terminal) does to `view`: g, s, m pick
// a pane, o cycles the sort, tab the GPU (all, then each of `status`'s in
// turn). False when it asks to quit (q).
bool ApplyTopKey(int key, const nlohmann::ordered_json& status, TopView& view);

// The whole screen: at most `height` lines of at most `width` columns each
// (longer lines are cut, never wrapped; a screen too short for its lines ends
// with a line saying how many more there are), each ended by '\n'.
std::string RenderTop(const nlohmann::ordered_json& status, const TopView& view, int width,
                      int height, const Style& style);

}  // namespace carve::render
