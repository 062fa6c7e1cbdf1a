// The extra GPU models the plan tests use (see test_fleets.h). Shapes follow
// shared/reference/mig-catalogue.md §4 (A30) and §8.1 (RTX PRO 6000), trimmed
// to the plain profiles; the RTX 5090 is a whole card without MIG.
#include <gtest/gtest.h>

#include "plan/test_fleets.h"

namespace carve::mig {
const std::vector<std::pair<std::string_view, std::string_view>>& EmbeddedCatalogFiles();
}

namespace carve::plan {
namespace {

constexpr std::string_view kExtra = R"json({
 "schema": "carve-catalog/v1", "family": "test",
 "gpus": [
  {"alias": "a30-test", "name": "A30 (test)", "architecture": "ampere", "mig": true,
   "products": [{"name": "TEST A30", "pci_device_id": "0xFFFF0001"}],
   "memory_mib": 24576, "sm_count": 56, "placement_units": 4, "compute_slices": 4,
   "engines": {"ce": 4, "dec": 4, "enc": 0, "jpeg": 1, "ofa": 1}, "source": "test",
   "profiles": [
    {"name": "1g.6gb", "nvml_profile": "1_SLICE", "id": 14, "memory_mib": 5952, "sm": 14,
     "engines": {"ce": 1, "dec": 1, "enc": 0, "jpeg": 0, "ofa": 0}, "max_instances": 4,
     "placements": [[0,1],[1,1],[2,1],[3,1]], "source": "test"},
    {"name": "2g.12gb", "nvml_profile": "2_SLICE", "id": 5, "memory_mib": 11968, "sm": 28,
     "engines": {"ce": 2, "dec": 2, "enc": 0, "jpeg": 0, "ofa": 0}, "max_instances": 2,
     "placements": [[0,2],[2,2]], "source": "test"},
    {"name": "4g.24gb", "nvml_profile": "4_SLICE", "id": 0, "memory_mib": 24064, "sm": 56,
     "engines": {"ce": 4, "dec": 4, "enc": 0, "jpeg": 1, "ofa": 1}, "max_instances": 1,
     "placements": [[0,4]], "source": "test"}],
   "compute_profiles": {
    "1": [{"slices": 1, "nvml_profile": "1_SLICE", "id": 0, "max_instances": 1, "sm": 14, "placements": [[0,1]], "default": true}],
    "2": [{"slices": 2, "nvml_profile": "2_SLICE", "id": 1, "max_instances": 1, "sm": 28, "placements": [[0,2]], "default": true}],
    "4": [{"slices": 4, "nvml_profile": "4_SLICE", "id": 3, "max_instances": 1, "sm": 56, "placements": [[0,4]], "default": true}]}},
  {"alias": "rtx-pro-6000-test", "name": "RTX PRO 6000 (test)", "architecture": "blackwell", "mig": true,
   "products": [{"name": "TEST RTX PRO 6000", "pci_device_id": "0xFFFF0002"}],
   "memory_mib": 97887, "sm_count": 188, "placement_units": 12, "compute_slices": 4,
   "engines": {"ce": 4, "dec": 4, "enc": 4, "jpeg": 4, "ofa": 1}, "source": "test",
   "profiles": [
    {"name": "1g.24gb", "nvml_profile": "1_SLICE", "id": 14, "memory_mib": 24192, "sm": 46,
     "engines": {"ce": 1, "dec": 1, "enc": 1, "jpeg": 1, "ofa": 0}, "max_instances": 4,
     "placements": [[0,3],[3,3],[6,3],[9,3]], "source": "test"},
    {"name": "2g.48gb", "nvml_profile": "2_SLICE", "id": 5, "memory_mib": 48512, "sm": 94,
     "engines": {"ce": 2, "dec": 2, "enc": 2, "jpeg": 2, "ofa": 0}, "max_instances": 2,
     "placements": [[0,6],[6,6]], "source": "test"},
    {"name": "4g.96gb", "nvml_profile": "4_SLICE", "id": 0, "memory_mib": 97280, "sm": 188,
     "engines": {"ce": 4, "dec": 4, "enc": 4, "jpeg": 4, "ofa": 1}, "max_instances": 1,
     "placements": [[0,12]], "source": "test"}],
   "compute_profiles": {
    "1": [{"slices": 1, "nvml_profile": "1_SLICE", "id": 0, "max_instances": 1, "sm": 46, "placements": [[0,1]], "default": true}],
    "2": [{"slices": 2, "nvml_profile": "2_SLICE", "id": 1, "max_instances": 1, "sm": 94, "placements": [[0,2]], "default": true}],
    "4": [{"slices": 4, "nvml_profile": "4_SLICE", "id": 3, "max_instances": 1, "sm": 188, "placements": [[0,4]], "default": true}]}},
  {"alias": "rtx-5090-test", "name": "RTX 5090 (test)", "architecture": "blackwell", "mig": false,
   "products": [{"name": "TEST RTX 5090", "pci_device_id": "0xFFFF0003"}],
   "memory_mib": 32607, "sm_count": 170, "source": "test"}
 ]})json";

}  // namespace

const mig::Catalog& TestCatalog() {
  static const mig::Catalog* cat = [] {
    auto files = mig::EmbeddedCatalogFiles();
    files.push_back({"test.json", kExtra});
    auto r = mig::Catalog::Parse(files);
    if (!r.ok()) {
      ADD_FAILURE() << r.status().ToString();
      std::abort();
    }
    return new mig::Catalog(std::move(r).value());
  }();
  return *cat;
}

TEST(TestCatalog, HasTheExtraModels) {
  EXPECT_NE(TestCatalog().Find("a30-test"), nullptr);
  EXPECT_NE(TestCatalog().Find("rtx-pro-6000-test"), nullptr);
  EXPECT_FALSE(TestCatalog().Find("rtx-5090-test")->mig);
}

}  // namespace carve::plan
