// How the main thread waits for SIGTERM / SIGINT (or for another thread's
// Wake(), e.g. a failed preheat).
//
// A signal handler that posts a semaphore, not "block the signals, then
// sigwait()": blocking only holds for threads started after the mask is set,
// and libraries start threads before main() (OpenBLAS's pool, from its
// constructor) with every signal open. The kernel may hand a process's
// SIGTERM to any such thread, where its default action kills the process
// without a graceful stop. A handler runs wherever the signal lands.
#ifndef FACESERVE_SERVER_STOP_SIGNAL_H_
#define FACESERVE_SERVER_STOP_SIGNAL_H_

#include "absl/status/status.h"

namespace faceserve {

// Installs the handler for SIGTERM and SIGINT. Call once, early in main().
absl::Status InstallStopSignalHandler();

// Blocks until a stop signal arrives or Wake() is called; returns the signal
// number, or 0 for a Wake(). Each signal and each Wake() is returned once.
int WaitForStopSignal();

// Makes WaitForStopSignal() return 0 (async-signal-safe, any thread).
void WakeStopSignalWaiter();

}  // namespace faceserve

#endif  // FACESERVE_SERVER_STOP_SIGNAL_H_
