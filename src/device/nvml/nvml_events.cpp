// NvmlMachine's faults: the Xid critical errors NVML reports through its
// event API, drained without waiting on every read of a GPU.
#include <algorithm>

#include "device/nvml/nvml_machine.h"
#include "device/xid.h"

namespace carve::device::nvml {
namespace {

constexpr int kMaxEventsPerRead = 1024;  // a bound on a storm, not an expected count

}  // namespace

nvmlEventSet_t NvmlMachine::Events() {
  if (events_ || events_missing_) return events_ ? events_->handle : nullptr;
  nvmlEventSet_t h = nullptr;
  if (Call(fn().nvmlEventSetCreate, &h) != NVML_SUCCESS || !h) {
    events_missing_ = true;
    return nullptr;
  }
  events_ = std::make_unique<EventSet>();
  events_->fn = &fn();
  events_->handle = h;
  return h;
}

void NvmlMachine::DrainEvents(nvmlEventSet_t set) {
  auto wait = fn().nvmlEventSetWait_v2 ? fn().nvmlEventSetWait_v2 : fn().nvmlEventSetWait;
  for (int i = 0; i < kMaxEventsPerRead; ++i) {
    nvmlEventData_t e{};
    e.gpuInstanceId = NVML_INSTANCE_ID_NONE;              // the first version does not fill it
    if (Call(wait, set, &e, 0u) != NVML_SUCCESS) return;  // TIMEOUT: nothing more now
    unsigned int index = 0;
    if (!(e.eventType & nvmlEventTypeXidCriticalError) ||
        e.gpuInstanceId == NVML_INSTANCE_ID_NONE ||
        Call(fn().nvmlDeviceGetIndex, e.device, &index) != NVML_SUCCESS)
      continue;  // not about one GPU instance: carve tracks faults per instance
    faults_[{static_cast<int>(index), static_cast<int>(e.gpuInstanceId)}] =
        XidText(static_cast<int>(e.eventData));
  }
}

void NvmlMachine::ReadFaults(nvmlDevice_t dev, Gpu* g) {
  bool mig = g->mig_capable && g->mig.current;
  nvmlEventSet_t set = mig ? Events() : nullptr;
  if (set && registered_.insert(g->index).second) {
    unsigned long long types = 0;
    if (Call(fn().nvmlDeviceGetSupportedEventTypes, dev, &types) == NVML_SUCCESS &&
        (types & nvmlEventTypeXidCriticalError))
      (void)Call(fn().nvmlDeviceRegisterEvents, dev, nvmlEventTypeXidCriticalError, set);
  }
  if (set) DrainEvents(set);
  // Keep what was reported on instances that still exist; show it on them.
  for (auto it = faults_.lower_bound({g->index, -1});
       it != faults_.end() && it->first.first == g->index;) {
    auto gi = std::find_if(g->gpu_instances.begin(), g->gpu_instances.end(),
                           [&](const GpuInstance& x) { return x.id == it->first.second; });
    if (gi == g->gpu_instances.end()) {
      it = faults_.erase(it);
      continue;
    }
    gi->fault = it->second;
    ++it;
  }
}

}  // namespace carve::device::nvml
