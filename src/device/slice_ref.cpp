#include "device/slice_ref.h"

#include <fmt/format.h>

namespace carve::device {
namespace {

bool ParseInt(const std::string& text, int& out) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoi(text);
  return true;
}

std::string Holds(const Gpu& g) {
  if (!g.mig.current) return "MIG is off";
  std::string out;
  for (const auto& gi : g.gpu_instances)
    out += fmt::format("{}{}@{}", out.empty() ? "" : ", ", gi.profile, gi.placement.start);
  return out.empty() ? "no slices" : out;
}

}  // namespace

std::string SliceRef::str() const {
  return profile.empty() ? std::to_string(gpu) : fmt::format("{}:{}@{}", gpu, profile, start);
}

Result<SliceRef> ParseSliceRef(const std::string& text) {
  SliceRef ref;
  size_t colon = text.find(':'), at = text.rfind('@');
  bool whole = colon == std::string::npos && ParseInt(text, ref.gpu);
  bool slice = colon != std::string::npos && at != std::string::npos && at > colon + 1 &&
               ParseInt(text.substr(0, colon), ref.gpu) && ParseInt(text.substr(at + 1), ref.start);
  if (!whole && !slice)
    return Status::InvalidArgument(fmt::format("'{}' is not a slice", text),
                                   "Write GPU:PROFILE@START (e.g. 0:3g.40gb@4), or GPU for a "
                                   "whole GPU.");
  if (slice) ref.profile = text.substr(colon + 1, at - colon - 1);
  return ref;
}

Result<FoundSlice> FindSlice(const std::vector<Gpu>& gpus, const SliceRef& ref) {
  for (const auto& g : gpus) {
    if (g.index != ref.gpu) continue;
    if (ref.profile.empty()) return FoundSlice{nullptr, g.uuid};
    for (const auto& gi : g.gpu_instances)
      if (gi.profile == ref.profile && gi.placement.start == ref.start &&
          !gi.compute_instances.empty())
        return FoundSlice{&gi, gi.compute_instances.front().uuid};
    return Status::NotFound(
        fmt::format("GPU {} has no {}@{} now ({})", ref.gpu, ref.profile, ref.start, Holds(g)));
  }
  return Status::NotFound(fmt::format("no GPU {}", ref.gpu));
}

}  // namespace carve::device
