// NameThisThread: gives the calling thread a name that `top -H`, `perf`,
// gdb and /proc/<pid>/task/*/comm show, so an operator can tell the
// detector's workers from a predictor's or the request pool's.
#ifndef FACESERVE_CORE_THREAD_NAME_H_
#define FACESERVE_CORE_THREAD_NAME_H_

#include <string>

namespace faceserve {

// Linux keeps at most 15 characters; longer names are cut, keeping the end
// (the worker index) and as much of the start as fits.
std::string ThreadNameFor(const std::string& base, int index);

// Best effort: a failure leaves the inherited name.
void NameThisThread(const std::string& name);

}  // namespace faceserve

#endif  // FACESERVE_CORE_THREAD_NAME_H_
