// The journal of a live change (STATE_DIR/live.journal; docs/live.md,
// "A carve up killed mid-change"): written before a reload, rebalance or
// failover changes anything, removed once it is done. A carve up killed
// meanwhile leaves it behind; its engines died with it (parent-death signal),
// and the slices the change made or was freeing are listed here. The next
// converge (the next carve up, or this one's next change) destroys those its
// plan does not use: no slice leaks. Slice operations themselves are carve
// apply's journal's (apply/journal.h).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/target.h"
#include "device/slice_ref.h"
#include "util/status.h"

namespace carve::up {

inline constexpr const char* kLiveJournalFile = "live.journal";

struct LiveJournal {
  std::string spec;                      // what the change converged to
  std::string started;                   // UTC
  std::string step;                      // the last step begun, for people
  std::vector<device::SliceRef> slices;  // made or freed by the change
};

Status WriteLiveJournal(const std::string& state_dir, const LiveJournal& j);
// nullopt when there is none; an error names a journal that cannot be read.
Result<std::optional<LiveJournal>> ReadLiveJournal(const std::string& state_dir);
void RemoveLiveJournal(const std::string& state_dir);

// `layouts` (a converge's final ones) changed so that every slice of
// `leftovers` not in `keep` is destroyed: taken out of its GPU's layout, or,
// for a GPU the layouts leave alone, that GPU's layout now (`gpus`) without
// them. Pure.
apply::Layouts DropLeftovers(apply::Layouts layouts, const std::vector<device::Gpu>& gpus,
                             const std::vector<device::SliceRef>& leftovers,
                             const std::set<std::string>& keep);

}  // namespace carve::up
