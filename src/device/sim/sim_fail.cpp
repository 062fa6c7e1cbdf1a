// carve sim fail: a GPU instance the driver reported an Xid on, and how the
// engines on it learn it (a fault file beside each one's activity file).
#include <fmt/format.h>
#include <unistd.h>

#include "device/sim/sim_machine.h"
#include "device/xid.h"
#include "util/atomic_file.h"

namespace carve::device::sim {

// The fault's words, then the devices it concerns, one a line: an engine
// whose device is not among them (a successor in the same working directory,
// elsewhere) is not concerned.
Status WriteFaultFiles(const std::vector<std::string>& files, int xid,
                       const std::vector<std::string>& devices) {
  std::string text = XidText(xid) + "\n";
  for (const auto& d : devices) text += d + "\n";
  std::string failed;
  for (const auto& file : files)
    if (!WriteFileAtomically(file, text, /*durable=*/false).ok())
      failed += (failed.empty() ? "" : ", ") + file;
  if (failed.empty()) return Status::Ok();
  return Status::Io(fmt::format("the instance failed, but its engines' fault files could not be "
                                "written: {}",
                                failed),
                    "Run carve sim fail as the user that runs carve up (or root).");
}

void RemoveFaultFiles(const std::vector<std::string>& files) {
  for (const auto& file : files) ::unlink(file.c_str());  // gone already is fine
}

Result<FailedInstance> SimMachine::FailGpuInstance(int gpu, int gi, int xid) {
  FailedInstance out;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kControl, [&](SimState& s) -> Status {
    CARVE_ASSIGN_OR_RETURN(out, DoFailGpuInstance(s, gpu, gi, xid));
    return Status::Ok();
  }));
  CARVE_RETURN_IF_ERROR(WriteFaultFiles(out.fault_files, xid, out.devices));
  return out;
}

Result<std::vector<FailedInstance>> SimMachine::ClearFailures(std::optional<int> gpu,
                                                              std::optional<int> gi) {
  std::vector<FailedInstance> healed;
  CARVE_RETURN_IF_ERROR(Transact(Kind::kControl, [&](SimState& s) -> Status {
    CARVE_ASSIGN_OR_RETURN(healed, DoClearFailures(s, gpu, gi));
    return Status::Ok();
  }));
  for (const auto& h : healed) RemoveFaultFiles(h.fault_files);
  return healed;
}

}  // namespace carve::device::sim
