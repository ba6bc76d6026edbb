#include "server/stop_signal.h"

#include <semaphore.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

// Only what a handler may touch: a lock-free atomic and sem_post().
sem_t stop_semaphore;
std::atomic<int> pending_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

void OnStopSignal(int signal) {
  const int saved_errno = errno;  // sem_post may set it under the interrupted code
  pending_signal.store(signal);
  sem_post(&stop_semaphore);
  errno = saved_errno;
}

}  // namespace

absl::Status InstallStopSignalHandler() {
  if (sem_init(&stop_semaphore, /*pshared=*/0, /*value=*/0) != 0) {
    return absl::InternalError(absl::StrCat("sem_init: ", std::strerror(errno)));
  }
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // interrupted reads and writes resume
  for (const int signal : {SIGTERM, SIGINT}) {
    if (sigaction(signal, &action, nullptr) != 0) {
      return absl::InternalError(absl::StrCat("sigaction(", signal, "): ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

int WaitForStopSignal() {
  while (sem_wait(&stop_semaphore) != 0) {
    // EINTR: the handler itself ran on this thread; the post is still there.
  }
  return pending_signal.exchange(0);
}

void WakeStopSignalWaiter() { sem_post(&stop_semaphore); }

}  // namespace faceserve
