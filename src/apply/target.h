// Layouts carve apply works with: what a GPU should hold (from a layout file)
// and what it held before an apply (for rollback and the journal). Plain data;
// the diff (diff.h) compares them with what a machine holds.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "device/machine.h"
#include "mig/catalog.h"
#include "mig/layout.h"

namespace carve::apply {

// One slice of a layout: a GPU-instance profile at a start (nullopt: carve
// places it), with its compute instances. `cis` lists compute-instance
// profiles, sorted by id; the common case is the one full CI; empty means a
// GPU instance without compute instances.
struct SliceSpec {
  const mig::Profile* profile = nullptr;
  std::optional<int> start;
  std::vector<const mig::ComputeProfile*> cis;

  // "3g.40gb@4", "1c.3g.40gb@4", "3g.40gb@0 {1c,1c,1c}", "3g.40gb@0 {no CI}";
  // without "@START" when there is no start.
  std::string Name() const;
  // Same profile and compute instances (the start is not compared).
  bool SameShape(const SliceSpec& o) const { return profile == o.profile && cis == o.cis; }
};

// What one GPU should hold. GPUs a layout file does not name are left alone.
struct GpuLayout {
  int gpu = 0;
  const mig::GpuModel* model = nullptr;
  bool mig = false;
  std::vector<SliceSpec> slices;
  std::string source;  // where it was asked for ("carve.yaml:7"), for messages
};

using Layouts = std::vector<GpuLayout>;  // ascending GPU index

// A slice with the full compute instance of its profile.
SliceSpec FullSlice(const mig::GpuModel& model, const mig::Profile& p, std::optional<int> start);
// What `gpu` holds now, every start known. GPUs outside carve's catalogue
// have no model and no slices.
GpuLayout LayoutOf(const device::Gpu& gpu);
// The compute-instance profiles of `gi` on `model`, sorted by id.
std::vector<const mig::ComputeProfile*> CiProfilesOf(const mig::GpuModel& model,
                                                     const device::GpuInstance& gi);
// "1c" for a compute-instance profile inside a GI.
std::string CiShortName(const mig::ComputeProfile& cp);
// "2g.20gb@0, 1g.10gb@2" or "no slices"; "MIG off" when off.
std::string Describe(const GpuLayout& layout);

}  // namespace carve::apply
