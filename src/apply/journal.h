// The apply journal: one JSON file in the state directory that records an
// apply's intent (the layouts before and after, the operations) and its
// progress, written atomically and fsync'd before the first operation and
// after each one. While it exists an apply is unfinished: the next apply
// finishes it, or rolls it back (reconcile.h). It is only read and written
// under the machine's change lock.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply/target.h"
#include "device/machine.h"
#include "util/status.h"

namespace carve::apply {

struct Journal {
  std::string phase = "forward";  // "forward": reaching `target`; "rollback": back to `before`
  bool force = false;
  int pid = 0;
  std::string started;  // UTC, ISO 8601
  Layouts before, target;
  std::vector<std::string> ops;  // what the operations are, for people
  int done = 0;                  // operations finished so far (of this phase)
};

// "<dir>/apply-journal.json"
std::string JournalPath(const std::string& dir);
// Writes `j` (creating `dir`): temp file, fsync, rename, fsync of the directory.
Status WriteJournal(const std::string& dir, const Journal& j);
// The journal in `dir`, nullopt when there is none. Profiles are resolved on
// the GPUs' models; an unreadable journal is an error naming the file.
Result<std::optional<Journal>> ReadJournal(const std::string& dir);
Status RemoveJournal(const std::string& dir);
// For read-only verbs: "" when `dir` holds no journal, else a line saying an
// apply is in progress (its pid is alive) or was interrupted.
std::string PendingNote(const std::string& dir);

}  // namespace carve::apply
