#include "device/nvml/nvml_errors.h"

#include <gtest/gtest.h>

#include <set>

#include "device/nvml/nvml_api.h"

namespace carve::device::nvml {
namespace {

TEST(NvmlErrors, TableCoversEveryCodeNvmlDefines) {
  std::set<int> codes;
  for (const auto& e : ErrorTable()) codes.insert(e.rc);
  for (int rc = 0; rc <= 30; ++rc) EXPECT_TRUE(codes.count(rc)) << rc;
  EXPECT_TRUE(codes.count(NVML_ERROR_UNKNOWN));
  EXPECT_EQ(codes.size(), ErrorTable().size()) << "a code appears twice";
}

TEST(NvmlErrors, EveryFailureIsAClearCarveError) {
  for (const auto& e : ErrorTable()) {
    Status st = FromNvml(e.rc, "GPU 0: creating a 3g.40gb GPU instance");
    if (e.rc == NVML_SUCCESS) {
      EXPECT_TRUE(st.ok());
      continue;
    }
    EXPECT_FALSE(st.ok()) << e.name;
    EXPECT_NE(st.code(), Code::kOk) << e.name;
    EXPECT_EQ(st.message().rfind("GPU 0: creating a 3g.40gb GPU instance: ", 0), 0u)
        << st.message();
    EXPECT_NE(st.message().find(std::string(e.name)), std::string::npos) << st.message();
    EXPECT_GT(e.text.size(), 10u) << e.name;
  }
}

// The codes MIG calls return (as NVML documents), and what carve makes of them.
TEST(NvmlErrors, MigRefusalsKeepTheirMeaning) {
  const std::pair<int, Code> expected[] = {
      {NVML_ERROR_UNINITIALIZED, Code::kInternal},
      {NVML_ERROR_INVALID_ARGUMENT, Code::kInvalidArgument},
      {NVML_ERROR_NOT_SUPPORTED, Code::kNotSupported},
      {NVML_ERROR_NO_PERMISSION, Code::kNoPermission},
      {NVML_ERROR_NOT_FOUND, Code::kNotFound},
      {NVML_ERROR_INSUFFICIENT_SIZE, Code::kInternal},
      {NVML_ERROR_DRIVER_NOT_LOADED, Code::kUnavailable},
      {NVML_ERROR_FUNCTION_NOT_FOUND, Code::kNotSupported},
      {NVML_ERROR_GPU_IS_LOST, Code::kUnavailable},
      {NVML_ERROR_RESET_REQUIRED, Code::kResetRequired},
      {NVML_ERROR_IN_USE, Code::kInUse},
      {NVML_ERROR_MEMORY, Code::kInsufficientResources},
      {NVML_ERROR_INSUFFICIENT_RESOURCES, Code::kInsufficientResources},
      {NVML_ERROR_ARGUMENT_VERSION_MISMATCH, Code::kNotSupported},
      {NVML_ERROR_TIMEOUT, Code::kTimeout},
      {NVML_ERROR_UNKNOWN, Code::kUnknown},
  };
  for (auto [rc, code] : expected) EXPECT_EQ(LookupError(rc).code, code) << LookupError(rc).name;
  EXPECT_NE(FromNvml(NVML_ERROR_NO_PERMISSION, "x").hint().find("root"), std::string::npos);
  EXPECT_NE(FromNvml(NVML_ERROR_INSUFFICIENT_RESOURCES, "x").hint().find("carve profiles"),
            std::string::npos);
}

TEST(NvmlErrors, UnknownCodeIsNamedByNumber) {
  Status st = FromNvml(4242, "reading GPU 1");
  EXPECT_EQ(st.code(), Code::kUnknown);
  EXPECT_NE(st.message().find("NVML code 4242"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace carve::device::nvml
