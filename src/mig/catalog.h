// The MIG catalogue: every GPU model carve knows, with its profiles, placement
// rules and compute-instance shapes. Loaded from catalog/*.json (embedded at
// build time); adding a GPU is a data change. Immutable once built, so it is
// safe to share across threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace carve::mig {

enum class Arch { kAmpere, kHopper, kBlackwell, kAda, kUnknown };
std::string_view ArchName(Arch arch);
// Ampere needs a GPU reset to change MIG mode, and keeps the mode over a
// reboot; Hopper and later change it without a reset and lose it at reboot.
inline bool ModeSurvivesReboot(Arch arch) { return arch == Arch::kAmpere; }

struct Engines {
  int ce = 0, dec = 0, enc = 0, jpeg = 0, ofa = 0;
};

struct Placement {
  int start = 0;
  int size = 0;
  int end() const { return start + size; }  // one past the last unit
  bool Overlaps(const Placement& o) const { return start < o.end() && o.start < end(); }
  bool operator==(const Placement&) const = default;
};

// A GPU-instance profile, e.g. 3g.40gb on an H100.
struct Profile {
  std::string name;               // "1g.10gb+me"
  int slices = 0;                 // compute slices (the N of "Ng")
  std::string nvml_profile_name;  // "1_SLICE_REV1"
  int nvml_profile = 0;           // NVML_GPU_INSTANCE_PROFILE_* value
  int id = 0;                     // nvidia-smi / NVML profile id (-cgi takes this)
  uint64_t memory_mib = 0;
  int sm = 0;
  Engines engines;
  int max_instances = 0;
  std::vector<Placement> placements;  // every legal placement, ascending start
  std::string source;
  std::vector<std::string> unverified;  // fields not confirmed on hardware
  std::string notes;

  int size() const { return placements.empty() ? 0 : placements.front().size; }
  bool verified() const { return unverified.empty(); }
  bool LegalStart(int start) const;
};

// A compute-instance profile inside a GPU instance of a given slice count.
struct ComputeProfile {
  int slices = 0;                 // the N of "Nc"
  std::string nvml_profile_name;  // "1_SLICE"
  int nvml_profile = 0;           // NVML_COMPUTE_INSTANCE_PROFILE_* value (also its id)
  int id = 0;
  int max_instances = 0;
  int sm = 0;  // for the default (full) CI the GI's own SM count applies instead
  std::vector<Placement> placements;  // relative to the GPU instance
  bool is_default = false;            // what `-C` / `create` makes
  // "1c.3g.40gb", or the GI's own name when it spans the whole GI.
  std::string NameIn(const Profile& gi) const;
};

struct Product {
  std::string name;          // as NVML reports it, e.g. "NVIDIA H100 80GB HBM3"
  uint32_t pci_device_id{};  // e.g. 0x233010DE
  // Ships in display mode, where the driver reports MIG as not supported; MIG
  // needs the card switched to compute mode first (the Workstation editions).
  bool display_mode = false;
};

struct GpuModel {
  std::string alias;  // "h100-80gb"
  std::string name;   // "H100 80GB SXM"
  std::string family_file;
  Arch arch = Arch::kUnknown;
  bool mig = false;
  std::vector<Product> products;
  uint64_t memory_mib = 0;  // device total as NVML reports it
  int sm_count = 0;
  int placement_units = 0;
  int compute_slices = 0;
  Engines engines;  // engine totals the GPU instances share out in MIG mode
  std::string min_driver;
  std::string source;
  std::vector<std::string> unverified;
  std::string notes;
  std::vector<Profile> profiles;
  std::map<int, std::vector<ComputeProfile>> compute_profiles;  // by GI slices
  bool compute_profiles_verified = false;

  const Profile* FindProfile(std::string_view name) const;
  const Profile* FindProfileById(int id) const;
  const Profile* FindProfileByNvml(int nvml_profile) const;
  const std::vector<ComputeProfile>& ComputeProfilesFor(const Profile& gi) const;
  const ComputeProfile* DefaultComputeProfile(const Profile& gi) const;
  bool verified() const { return unverified.empty(); }
};

class Catalog {
 public:
  // The catalogue compiled into this binary. Aborts on malformed embedded data
  // (a build-time bug caught by the tests), never on user input.
  static const Catalog& Builtin();
  // Parses catalogue files: (file name, JSON text) pairs. Errors name the file
  // and the GPU/profile at fault.
  static Result<Catalog> Parse(
      const std::vector<std::pair<std::string_view, std::string_view>>& files);

  const std::vector<GpuModel>& models() const { return models_; }
  // By alias ("h100-80gb"), product name ("NVIDIA H100 80GB HBM3", with or
  // without the "NVIDIA " prefix, any case) or PCI device id ("0x233010DE").
  const GpuModel* Find(std::string_view key) const;
  const GpuModel* FindByPciId(uint32_t pci_device_id) const;
  // The product `key` names (its name, any case, or its PCI device id), else nullptr.
  const Product* FindProduct(std::string_view key) const;
  // Find, or an error that lists the aliases.
  Result<const GpuModel*> Lookup(std::string_view key) const;
  std::string AliasList() const;

 private:
  std::vector<GpuModel> models_;
};

}  // namespace carve::mig
