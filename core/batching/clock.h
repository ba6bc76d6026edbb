// Clock: the source of time for the batcher, injectable so that tests can
// drive delays and deadlines exactly (tests/ has a FakeClock).
#ifndef FACESERVE_CORE_BATCHING_CLOCK_H_
#define FACESERVE_CORE_BATCHING_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace faceserve {

// Thread-safety: implementations are safe for concurrent use.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  // Waits on `cv` (with `mu` held) until signalled or until `deadline` by
  // this clock; returns true if the deadline passed. A fake clock wakes such
  // waits when it is advanced. Like any condition-variable wait it may also
  // return false early (a signal meant for another waiter, or spuriously), and
  // it may release and re-acquire `mu` more than once: callers re-check their
  // state in a loop.
  virtual bool WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                         absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;

  // The process-wide real clock.
  static Clock* Real();
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_BATCHING_CLOCK_H_
