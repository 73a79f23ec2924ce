#include "cli/cli.h"

int main(int argc, char** argv) { return phigate::cli::run(argc, argv); }
