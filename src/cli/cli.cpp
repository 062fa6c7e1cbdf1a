#include "cli/cli.h"

#include <cstdio>

#include "mig/catalog.h"

namespace carve::cli {
int Main(int argc, char** argv) {
  std::printf("carve: %zu GPU models\n", mig::Catalog::Builtin().models().size());
  return 0;
}
}  // namespace carve::cli
