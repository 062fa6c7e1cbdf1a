// The carve command line: parses arguments and runs one verb.
#pragma once

namespace carve::cli {
int Main(int argc, char** argv);
}  // namespace carve::cli
