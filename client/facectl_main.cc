// facectl: command-line client of faceserve. The argument parsing and the
// dispatch to subcommands live in facectl.cc (RunFacectl) so that tests can
// drive the whole command line in-process.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "client/facectl.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return faceserve::client::RunFacectl(args, std::cout, std::cerr, isatty(STDERR_FILENO) == 1);
}
