// Reconcile: carries out a plan on a Machine, journaled, verified, and
// restored on failure.
//
//   - Refuses before touching anything when the plan would destroy a slice
//     with processes (or flip the mode under them), unless `force`.
//   - Journals intent and progress (journal.h) when a state directory is given.
//   - Runs the operations in order. When one fails, restores every GPU of the
//     plan to its pre-apply layout, placement-exactly where it can (new MIG
//     UUIDs are unavoidable), and reports what each GPU holds.
//   - Declares success only after reading every GPU back and finding its
//     target, placement-exactly.
//   - Recover() finds the journal an interrupted apply left (a crash, kill -9,
//     power loss) and finishes that apply, or rolls it back when finishing
//     fails or the interrupted run was already rolling back.
// One Reconciler per apply; the caller holds the machine's change lock.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apply/changes.h"
#include "apply/journal.h"
#include "device/machine.h"

namespace carve::apply {

struct Options {
  bool force = false;
  std::string state_dir{};  // journal directory; empty: no journal
  // Test hook (CARVE_TEST_CRASH_AFTER_OP): SIGKILL this process right after
  // its Nth operation, counting every operation this Reconciler runs.
  int crash_after_op = 0;
  std::function<void(const Op&, int n, int total)> on_op{};  // before each operation
  std::function<void(const std::string&)> on_note{};         // "rolling back …"
};

enum class Held { kTarget, kBefore, kOther };

struct GpuOutcome {
  int gpu = 0;
  Held held = Held::kOther;
  std::string holds;  // Describe() of what it holds now
};

struct Outcome {
  Status status;  // Ok: every GPU verified to hold its target
  bool rolled_back = false;
  int ops_done = 0;
  std::vector<device::Process> stopped{};  // by --force
  std::vector<GpuOutcome> gpus{};          // after the run (empty when refused up front)
};

class Reconciler {
 public:
  Reconciler(device::Machine& m, Options o) : m_(m), o_(std::move(o)) {}

  // Runs `plan` (made by MakeChanges with the same force).
  Outcome Apply(const Changes& plan);
  // Finishes or rolls back an interrupted apply; nullopt when none is pending.
  Result<std::optional<Outcome>> Recover();

 private:
  // Runs `plan` towards `target`, restoring `before` on failure; `j` is the
  // journal to keep up to date.
  Outcome Run(const Changes& plan, const Layouts& before, Journal j);
  Status RunOps(const Changes& plan, Journal* j, Outcome& out);
  Status RunOp(const Op& op, std::vector<device::Process>& stopped);
  Status Verify(const Layouts& want);
  void RollBack(const Layouts& before, Journal* j, Outcome& out);
  void Classify(const Layouts& before, const Layouts& target, Outcome& out);
  Status Save(const Journal& j);
  void Note(const std::string& s) {
    if (o_.on_note) o_.on_note(s);
  }

  device::Machine& m_;
  Options o_;
  int ops_run_ = 0;
};

// "GPU 0 holds its target", "GPU 1 holds its pre-apply layout (…)", …
std::string OutcomeText(const GpuOutcome& g);
// A refusal listing what is in use: the UX wording ("cannot destroy … Stop it
// first, or rerun with --force").
Status InUseRefusal(const Changes& plan);

}  // namespace carve::apply
