#include "cli/cli.h"

#include <gtest/gtest.h>

namespace carve::cli {
namespace {

TEST(ExitCodes, EachStatusHasTheDocumentedCode) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), 0);
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("x")), 2);
  EXPECT_EQ(ExitCodeFor(Status::InUse("x")), 3);
  EXPECT_EQ(ExitCodeFor(Status::Error(Code::kBusy, "x")), 4);
  EXPECT_EQ(ExitCodeFor(Status::Error(Code::kUnavailable, "x")), 5);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("x")), 6);
  EXPECT_EQ(ExitCodeFor(Status::Internal("x")), 70) << "docs/cli.md: internal error";
}

}  // namespace
}  // namespace carve::cli
