// facectl's entry point as a library function, so that tests can run the
// whole command line in-process.
#ifndef FACESERVE_CLIENT_FACECTL_H_
#define FACESERVE_CLIENT_FACECTL_H_

#include <ostream>
#include <string>
#include <vector>

namespace faceserve::client {

// Runs facectl with `args` (argv without the program name), writing results to
// `out` and diagnostics to `err`. Returns the exit code: 0 success, 1 failure,
// 2 bad usage. `err_is_tty` enables progress bars.
int RunFacectl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               bool err_is_tty = false);

// The top-level usage text.
std::string FacectlUsage();

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_FACECTL_H_
