// Drop-in entry points for GPM (GPU performance monitoring): samples of the
// simulated work on a GPU or on one of its GPU instances, and the metrics
// between two samples. GPM exists on Hopper and later; on Ampere the device
// reports no support and sampling answers NOT_SUPPORTED, as the driver does.
#include <algorithm>
#include <memory>
#include <vector>

#include "device/sim/activity.h"
#include "device/utilisation.h"
#include "nvmlshim/shim.h"

using namespace carve::nvmlshim;
using carve::device::sim::ActivitySample;
using carve::device::sim::SimMachine;

struct nvmlGpmSample_st {
  bool taken = false;
  int gpu = -1;
  int gi = -1;  // -1: the whole GPU
  ActivitySample sample;
};

namespace {

// Samples handed out and not freed yet; touched only under the shim's lock.
std::vector<std::unique_ptr<nvmlGpmSample_st>>& Samples() {
  static auto* samples = new std::vector<std::unique_ptr<nvmlGpmSample_st>>;
  return *samples;
}

bool Issued(nvmlGpmSample_t s) {
  auto& all = Samples();
  return s && std::any_of(all.begin(), all.end(), [s](auto& p) { return p.get() == s; });
}

// Takes a sample of GPU instance `gi` (-1: the whole GPU) of device `h`, a
// physical GPU with GPM.
nvmlReturn_t Take(nvmlDevice_t h, int gi, nvmlGpmSample_t out) {
  return WithHandle(h, [&](SimMachine& m, const Dev& d) {
    if (!Issued(out) || d.ci) return NVML_ERROR_INVALID_ARGUMENT;
    if (!carve::device::HasGpm(d.gpu.arch)) return NVML_ERROR_NOT_SUPPORTED;
    if (gi >= 0 && !d.gpu.mig.current) return NVML_ERROR_NOT_SUPPORTED;
    std::optional<int> which;
    if (gi >= 0) which = gi;
    auto s = m.SampleActivity(d.gpu.index, which);
    if (!s.ok())
      return s.status().code() == carve::Code::kNotFound ? NVML_ERROR_INVALID_ARGUMENT
                                                         : ToNvml(s.status());
    *out = {true, d.gpu.index, gi, *s};
    return NVML_SUCCESS;
  });
}

struct Known {
  unsigned int id;
  double carve::device::Utilisation::*field;
  const char* short_name;
  const char* long_name;
};
constexpr Known kMetrics[] = {
    {NVML_GPM_METRIC_SM_UTIL, &carve::device::Utilisation::sm, "SM_UTIL",
     "Percentage of SMs that were busy"},
    {NVML_GPM_METRIC_ANY_TENSOR_UTIL, &carve::device::Utilisation::tensor, "ANY_TENSOR_UTIL",
     "Percentage of time the SMs were doing any tensor operation"},
    {NVML_GPM_METRIC_DRAM_BW_UTIL, &carve::device::Utilisation::memory_bandwidth, "DRAM_BW_UTIL",
     "Percentage of DRAM bandwidth used vs theoretical maximum"},
};

void Fill(const carve::device::Utilisation& u, nvmlGpmMetric_t& m) {
  m.nvmlReturn = NVML_ERROR_NOT_SUPPORTED;  // the simulator models these three only
  m.value = 0;
  m.metricInfo = {nullptr, nullptr, nullptr};
  for (const auto& k : kMetrics)
    if (k.id == m.metricId) {
      m.nvmlReturn = NVML_SUCCESS;
      m.value = 100.0 * (u.*k.field);
      m.metricInfo = {const_cast<char*>(k.short_name), const_cast<char*>(k.long_name),
                      const_cast<char*>("%")};
    }
}

}  // namespace

NVML_EXPORT nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t h, nvmlGpmSupport_t* support) {
  return OnDevice(h, [&](const Dev& d) {
    if (!support) return NVML_ERROR_INVALID_ARGUMENT;
    if (support->version != NVML_GPM_SUPPORT_VERSION) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    support->isSupportedDevice = carve::device::HasGpm(d.gpu.arch) ? 1 : 0;
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t* out) {
  return Run([&](SimMachine&) {
    if (!out) return NVML_ERROR_INVALID_ARGUMENT;
    Samples().push_back(std::make_unique<nvmlGpmSample_st>());
    *out = Samples().back().get();
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t sample) {
  return Run([&](SimMachine&) {
    if (!Issued(sample)) return NVML_ERROR_INVALID_ARGUMENT;
    std::erase_if(Samples(), [sample](auto& p) { return p.get() == sample; });
    return NVML_SUCCESS;
  });
}

NVML_EXPORT nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t h, nvmlGpmSample_t sample) {
  return Take(h, -1, sample);
}

NVML_EXPORT nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t h, unsigned int gi,
                                             nvmlGpmSample_t sample) {
  if (gi > 1000) return NVML_ERROR_INVALID_ARGUMENT;
  return Take(h, static_cast<int>(gi), sample);
}

NVML_EXPORT nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t* mg) {
  return Run([&](SimMachine&) {
    if (!mg) return NVML_ERROR_INVALID_ARGUMENT;
    if (mg->version != NVML_GPM_METRICS_GET_VERSION) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (mg->numMetrics > NVML_GPM_METRIC_MAX || !Issued(mg->sample1) || !Issued(mg->sample2))
      return NVML_ERROR_INVALID_ARGUMENT;
    const nvmlGpmSample_st &a = *mg->sample1, &b = *mg->sample2;
    if (!a.taken || !b.taken || a.gpu != b.gpu || a.gi != b.gi) return NVML_ERROR_INVALID_ARGUMENT;
    carve::device::Utilisation u = carve::device::sim::Between(a.sample, b.sample);
    for (unsigned int i = 0; i < mg->numMetrics; ++i) Fill(u, mg->metrics[i]);
    return NVML_SUCCESS;
  });
}
