// Slices as Dynamic Resource Allocation claims for NVIDIA's DRA driver
// (k8s-dra-driver-gpu): device classes mig.nvidia.com (a MIG device, with
// the string attribute gpu.nvidia.com/profile, e.g. "3g.40gb") and
// gpu.nvidia.com (a whole GPU). The layouts stay carve's (static MIG, set up
// by the MIG manager or the node class); the claims only select devices.
#include <fmt/format.h>

#include "render/k8s/k8s.h"

namespace carve::render::k8s {

bool Claimed(const Workload& w, const Options& o) { return o.dra && !w.pool.fixed(); }

Json ClaimTemplate(const Workload& w, const Options& o) {
  Json exactly =
      w.profile ? Json{{"deviceClassName", "mig.nvidia.com"},
                       {"selectors",
                        Json::array(
                            {{{"cel",
                               {{"expression",
                                 fmt::format("device.attributes['gpu.nvidia.com'].profile == '{}'",
                                             w.profile->name)}}}}})}}
                : Json{{"deviceClassName", "gpu.nvidia.com"},
                       {"allocationMode", "ExactCount"},
                       {"count", w.gpus}};
  Json labels{{"app.kubernetes.io/part-of", "carve"},
              {"app.kubernetes.io/managed-by", "carve"},
              {"carve.dev/workload", w.name}};
  return Json{{"apiVersion", "resource.k8s.io/v1"},
              {"kind", "ResourceClaimTemplate"},
              {"metadata",
               {{"name", w.name},
                {"namespace", o.ns},
                {"labels", labels},
                {"annotations", {{"carve.dev/layout", w.layout}}}}},
              {"spec",
               {{"spec",
                 {{"devices",
                   {{"requests", Json::array({{{"name", "slice"}, {"exactly", exactly}}})}}}}}}}};
}

Status CheckClaims(const Cluster& cluster, const Options& o) {
  if (!o.dra) return Status::Ok();
  for (const auto& w : cluster.workloads)
    if (w.time_sliced && Claimed(w, o))
      return Status::NotSupported(
          fmt::format("--dra: workload {} shares its {} slices with other models (share: true), "
                      "and carve renders "
                      "shared slices as the device plugin's time-slicing, which DRA claims replace",
                      w.name, w.profile ? w.profile->name : "whole-GPU"),
          "Render without --dra (time-slicing), or drop share: true from those models.");
  return Status::Ok();
}

}  // namespace carve::render::k8s
