#include "cli/cli.h"

int main(int argc, char** argv) { return carve::cli::Main(argc, argv); }
