// NvmlMachine::ReadUtilisation: NVML's GPM, one sample per GPU instance (per
// GPU when MIG is off), and the metrics between a slice's last two samples.
#include <fmt/format.h>

#include <algorithm>

#include "device/nvml/nvml_errors.h"
#include "device/nvml/nvml_machine.h"
#include "device/utilisation.h"

namespace carve::device::nvml {
namespace {

// Why GPU `g` gives no GPM: Ampere has none per slice; a newer GPU on a
// driver without GPM (before 520), or one that says no, likewise.
std::string NoGpm(const Gpu& g, int rc) {
  if (!HasGpm(g.arch)) return NoUtilisationReason(g);
  if (rc == NVML_ERROR_FUNCTION_NOT_FOUND)
    return "this NVML has no GPM (driver 520 or later has it); DCGM's profiling metrics give "
           "utilisation per slice";
  return fmt::format(
      "NVML says GPU {} does not support GPM ({}); DCGM's profiling metrics give "
      "utilisation per slice",
      g.index, LookupError(rc).name);
}

}  // namespace

Result<std::unique_ptr<NvmlMachine::GpmSample>> NvmlMachine::TakeGpmSample(nvmlDevice_t dev,
                                                                           int gi) {
  auto s = std::make_unique<GpmSample>();
  s->fn = &fn();
  CARVE_RETURN_IF_ERROR(
      FromNvml(Call(fn().nvmlGpmSampleAlloc, &s->handle), "allocating a GPM sample"));
  int rc = gi < 0 ? Call(fn().nvmlGpmSampleGet, dev, s->handle)
                  : Call(fn().nvmlGpmMigSampleGet, dev, static_cast<unsigned>(gi), s->handle);
  CARVE_RETURN_IF_ERROR(
      FromNvml(rc, gi < 0 ? std::string("taking a GPM sample")
                          : fmt::format("taking a GPM sample of GPU instance {}", gi)));
  return s;
}

Result<Utilisation> NvmlMachine::GpmMetrics(const GpmSample& a, const GpmSample& b) {
  auto mg = std::make_unique<nvmlGpmMetricsGet_t>();  // 13 KB: not on the stack
  mg->version = NVML_GPM_METRICS_GET_VERSION;
  mg->numMetrics = 3;
  mg->sample1 = a.handle;
  mg->sample2 = b.handle;
  mg->metrics[0].metricId = NVML_GPM_METRIC_SM_UTIL;
  mg->metrics[1].metricId = NVML_GPM_METRIC_DRAM_BW_UTIL;
  mg->metrics[2].metricId = NVML_GPM_METRIC_ANY_TENSOR_UTIL;
  CARVE_RETURN_IF_ERROR(FromNvml(Call(fn().nvmlGpmMetricsGet, mg.get()), "reading GPM metrics"));
  double v[3] = {};
  for (int i = 0; i < 3; ++i) {
    const nvmlGpmMetric_t& m = mg->metrics[i];
    CARVE_RETURN_IF_ERROR(FromNvml(m.nvmlReturn, fmt::format("GPM metric {}", m.metricId)));
    v[i] = std::clamp(m.value / 100.0, 0.0, 1.0);
  }
  return Utilisation{v[0], v[1], v[2]};
}

Result<std::vector<SliceUtilisation>> NvmlMachine::ReadUtilisation(int gpu) {
  CARVE_ASSIGN_OR_RETURN(Gpu g, GetGpu(gpu));
  CARVE_ASSIGN_OR_RETURN(nvmlDevice_t dev, Device(gpu));
  nvmlGpmSupport_t support{NVML_GPM_SUPPORT_VERSION, 0};
  int rc = Call(fn().nvmlGpmQueryDeviceSupport, dev, &support);
  if (rc != NVML_SUCCESS || !support.isSupportedDevice || !HasGpm(g.arch))
    return Unavailable(g, NoGpm(g, rc));
  return MeasureBetweenSamples(
      g, gpm_samples_, [&](int gi) { return TakeGpmSample(dev, gi); },
      [&](const std::unique_ptr<GpmSample>& a, const std::unique_ptr<GpmSample>& b) {
        return GpmMetrics(*a, *b);
      });
}

}  // namespace carve::device::nvml
