// Drop-in entry points for events: the Xid critical errors of failed GPU
// instances (carve sim fail), delivered as NVML delivers them to a set the
// client registered its GPUs in. The simulator models Xid events only.
//
// Each event set delivers each failed instance once, on one wait; an
// instance that fails later (or fails again after healing, or with another
// Xid) comes on a later wait. Unlike a driver, which delivers only what
// happens after registration, a set also delivers the instances that had
// failed before: a carve started after the failure still learns of it.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "nvmlshim/shim.h"

using namespace carve::nvmlshim;
using carve::device::sim::SimMachine;

struct nvmlEventSet_st {
  std::map<int, unsigned long long> registered;  // GPU index → event types
  std::map<std::pair<int, int>, int> delivered;  // (GPU, GI) → the Xid delivered
};

namespace {

constexpr unsigned long long kSupported = nvmlEventTypeXidCriticalError;

// Sets handed out and not freed yet; touched only under the shim's lock.
std::vector<std::unique_ptr<nvmlEventSet_st>>& Sets() {
  static auto* sets = new std::vector<std::unique_ptr<nvmlEventSet_st>>;
  return *sets;
}

bool Issued(nvmlEventSet_t s) {
  auto& all = Sets();
  return s && std::any_of(all.begin(), all.end(), [s](auto& p) { return p.get() == s; });
}

// Events attach to physical GPUs: NVML has no per-instance registration
// through MIG device handles.
nvmlReturn_t OnPhysical(nvmlDevice_t h, const std::function<nvmlReturn_t(const Dev&)>& fn) {
  return OnDevice(h, [&](const Dev& d) { return d.gi ? NVML_ERROR_NOT_SUPPORTED : fn(d); });
}

// The next failed instance `set` has not delivered, into `out`; TIMEOUT when
// there is none. Forgets deliveries of instances healed or gone since.
nvmlReturn_t Next(SimMachine& m, nvmlEventSet_st& set, nvmlEventData_t* out) {
  auto state = m.State();
  if (!state.ok()) return ToNvml(state.status());
  std::map<std::pair<int, int>, int> failed;
  for (const auto& [gpu, types] : set.registered)
    if ((types & nvmlEventTypeXidCriticalError) && gpu < static_cast<int>(state->gpus.size()))
      for (const auto& gi : state->gpus[gpu].gis)
        if (gi.xid != 0) failed[{gpu, gi.id}] = gi.xid;
  std::erase_if(set.delivered, [&](const auto& d) {
    auto it = failed.find(d.first);
    return it == failed.end() || it->second != d.second;
  });
  for (const auto& [where, xid] : failed) {
    if (set.delivered.count(where)) continue;
    set.delivered[where] = xid;
    *out = {Shim::Get().Device(where.first), nvmlEventTypeXidCriticalError,
            static_cast<unsigned long long>(xid), static_cast<unsigned int>(where.second),
            NVML_INSTANCE_ID_NONE};
    return NVML_SUCCESS;
  }
  return NVML_ERROR_TIMEOUT;
}

// Waits up to `timeout_ms` for an event, polling the state file (it has no
// notification) with the shim's lock released between looks.
nvmlReturn_t Wait(nvmlEventSet_t set, nvmlEventData_t* data, unsigned int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    nvmlReturn_t rc = Run([&](SimMachine& m) {
      if (!Issued(set) || !data) return NVML_ERROR_INVALID_ARGUMENT;
      return Next(m, *set, data);
    });
    if (rc != NVML_ERROR_TIMEOUT || std::chrono::steady_clock::now() >= deadline) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

NVML_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t* set) {
  return Run([&](SimMachine&) {
    if (!set) return NVML_ERROR_INVALID_ARGUMENT;
    Sets().push_back(std::make_unique<nvmlEventSet_st>());
    *set = Sets().back().get();
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t h,
                                                          unsigned long long* types) {
  return OnPhysical(h, [&](const Dev&) {
    if (!types) return NVML_ERROR_INVALID_ARGUMENT;
    *types = kSupported;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t h, unsigned long long types,
                                                  nvmlEventSet_t set) {
  return OnPhysical(h, [&](const Dev& d) {
    if (!Issued(set)) return NVML_ERROR_INVALID_ARGUMENT;
    if (types & ~kSupported) return NVML_ERROR_NOT_SUPPORTED;
    set->registered[d.gpu.index] |= types;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t* data,
                                             unsigned int timeout_ms) {
  return Wait(set, data, timeout_ms);
}

// The first version filled the three fields its struct had (24 bytes).
NVML_EXPORT nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t* data,
                                          unsigned int timeout_ms) {
  if (!data) return Wait(set, data, timeout_ms);
  nvmlEventData_t full{};
  nvmlReturn_t rc = Wait(set, &full, timeout_ms);
  if (rc == NVML_SUCCESS) {
    data->device = full.device;
    data->eventType = full.eventType;
    data->eventData = full.eventData;
  }
  return rc;
}

NVML_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  return Run([&](SimMachine&) {
    if (!Issued(set)) return NVML_ERROR_INVALID_ARGUMENT;
    std::erase_if(Sets(), [set](auto& p) { return p.get() == set; });
    return NVML_SUCCESS;
  });
}
