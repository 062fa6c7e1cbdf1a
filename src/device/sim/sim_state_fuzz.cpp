// libFuzzer target: the simulator's state loader, which also backs the NVML
// drop-in (a host program loads whatever the state file holds). Whatever the
// bytes, ParseState either refuses them with a Status or returns a state that
// CheckState accepts; and what loads survives the read-only paths that trust
// it: every slice drawn on its GPU's layout bar, every compute instance's
// profile looked up, the state written and read back to the same text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "device/sim/sim_state.h"
#include "mig/catalog.h"
#include "render/layout_bar.h"

namespace sim = carve::device::sim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto state = sim::ParseState(text, "fuzz.json");
  if (!state.ok()) return 0;
  if (!sim::CheckState(*state).ok()) __builtin_trap();
  for (const auto& g : state->gpus) {
    const carve::mig::GpuModel* m = carve::mig::Catalog::Builtin().Find(g.model);
    if (!m) __builtin_trap();
    std::vector<carve::render::BarSegment> segments;
    for (const auto& gi : g.gis) {
      const carve::mig::Profile* p = m->FindProfileById(gi.profile_id);
      if (!p) __builtin_trap();
      segments.push_back({gi.start, p->size(), p->name, "GI"});
      for (const auto& ci : gi.cis) {
        bool known = false;
        for (const auto& c : m->ComputeProfilesFor(*p)) known = known || c.id == ci.profile_id;
        if (!known) __builtin_trap();
      }
    }
    if (m->placement_units > 0) carve::render::DrawBar(m->placement_units, segments);
  }
  std::string again = sim::FormatState(*state);
  auto back = sim::ParseState(again, "again.json");
  if (!back.ok() || sim::FormatState(*back) != again) __builtin_trap();
  return 0;
}
