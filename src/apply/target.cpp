#include "apply/target.h"

#include <fmt/format.h>

#include <algorithm>

namespace carve::apply {

std::string CiShortName(const mig::ComputeProfile& cp) { return fmt::format("{}c", cp.slices); }

std::string SliceSpec::Name() const {
  std::string at = start ? fmt::format("@{}", *start) : "";
  if (cis.size() == 1 && cis[0]->is_default) return profile->name + at;
  if (cis.size() == 1) return cis[0]->NameIn(*profile) + at;
  std::string inner;
  for (const auto* c : cis) inner += (inner.empty() ? "" : ",") + CiShortName(*c);
  return fmt::format("{}{} {{{}}}", profile->name, at, inner.empty() ? "no CI" : inner);
}

SliceSpec FullSlice(const mig::GpuModel& model, const mig::Profile& p, std::optional<int> start) {
  return SliceSpec{&p, start, {model.DefaultComputeProfile(p)}};
}

std::vector<const mig::ComputeProfile*> CiProfilesOf(const mig::GpuModel& model,
                                                     const device::GpuInstance& gi) {
  std::vector<const mig::ComputeProfile*> out;
  const mig::Profile* p = model.FindProfileById(gi.profile_id);
  if (!p) return out;
  for (const auto& ci : gi.compute_instances)
    for (const auto& cp : model.ComputeProfilesFor(*p))
      if (cp.id == ci.profile_id) out.push_back(&cp);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->id < b->id; });
  return out;
}

GpuLayout LayoutOf(const device::Gpu& gpu) {
  GpuLayout out{gpu.index, gpu.model, gpu.mig.current, {}, "the machine"};
  if (!gpu.model) return out;
  for (const auto& gi : gpu.gpu_instances)
    if (const mig::Profile* p = gpu.model->FindProfileById(gi.profile_id))
      out.slices.push_back(SliceSpec{p, gi.placement.start, CiProfilesOf(*gpu.model, gi)});
  return out;
}

std::string Describe(const GpuLayout& layout) {
  if (!layout.mig) return "MIG off";
  if (layout.slices.empty()) return "MIG on, no slices";
  std::vector<SliceSpec> sorted = layout.slices;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](auto& a, auto& b) { return a.start.value_or(99) < b.start.value_or(99); });
  std::string out;
  for (const auto& s : sorted) out += (out.empty() ? "" : ", ") + s.Name();
  return out;
}

}  // namespace carve::apply
