// FakeClock: a Clock that only moves when a test calls Advance(), so batching
// delays and deadlines can be tested exactly and without sleeping.
//
// Contract:
//  * Now() returns the start time plus every Advance() so far.
//  * WaitUntil(cv, mu, deadline) returns true at once if `deadline` has been
//    reached; otherwise it blocks until `cv` is signalled (returns false) or
//    until an Advance() reaches `deadline` (returns true). Real time never
//    ends a wait.
//  * Advance() wakes exactly the waits whose deadline it reached; it takes
//    each such waiter's `mu` to signal, so no wake-up is lost between a
//    waiter's check of the time and its sleep.
//  * Helpers for tests: num_waiters(), AwaitWaiters(), next_deadline().
//
// Thread-safety: every method is safe to call concurrently. Advance() must not
// be called while holding a mutex that a waiter passes to WaitUntil(), and the
// objects waiting on this clock must not be destroyed during an Advance().
//
// Implementation details follow.
// A waiter registers {cv, mu, deadline} in waiters_ (under mu_, while holding
// its own `mu`) and then sleeps in cv->Wait(mu), which releases `mu`
// atomically. Advance() bumps now_, pins the due waiters (under mu_), releases
// mu_, and for each one locks its `mu`, SignalAll()s its `cv`, and unpins.
// Because the waiter holds `mu` from its time check until it sleeps, the
// signal either finds it asleep or happens before its check, which then sees
// the new time. A waiter that wakes while pinned releases its `mu` and waits
// for the pin to drop, so Advance() never touches a Waiter that has gone.
// Lock order: a waiter's `mu` -> mu_; Advance() never holds both.
#ifndef FACESERVE_TESTS_TESTING_FAKE_CLOCK_H_
#define FACESERVE_TESTS_TESTING_FAKE_CLOCK_H_

#include <algorithm>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/batching/clock.h"

namespace faceserve {

class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  bool WaitUntil(absl::CondVar* cv, absl::Mutex* mu, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) override {
    Waiter w{cv, mu, deadline, 0};
    {
      absl::MutexLock lock(&mu_);
      if (now_ >= deadline) return true;
      waiters_.push_back(&w);
    }
    cv->Wait(mu);
    mu_.Lock();
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
    if (w.pins > 0) {
      // An Advance() is about to lock `mu` and signal `cv`: let it, and keep
      // `w` alive until it is done with it.
      mu_.Unlock();
      mu->Unlock();
      mu_.LockWhen(absl::Condition(
          +[](Waiter* waiter) { return waiter->pins == 0; }, &w));
      mu_.Unlock();
      mu->Lock();
      mu_.Lock();
    }
    const bool reached = now_ >= deadline;
    mu_.Unlock();
    return reached;
  }

  // Moves time forward by `d` (>= 0) and wakes the waits it made due.
  void Advance(absl::Duration d) {
    std::vector<Waiter*> due;
    {
      absl::MutexLock lock(&mu_);
      now_ += d;
      for (Waiter* w : waiters_) {
        if (w->deadline <= now_) {
          ++w->pins;
          due.push_back(w);
        }
      }
    }
    for (Waiter* w : due) {
      w->mu->Lock();
      w->cv->SignalAll();
      w->mu->Unlock();
    }
    absl::MutexLock lock(&mu_);
    for (Waiter* w : due) --w->pins;
  }

  // Threads currently blocked in WaitUntil().
  int num_waiters() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(waiters_.size());
  }

  // Blocks until at least `n` threads are in WaitUntil(), or `timeout` of
  // real time passes; returns whether they are.
  bool AwaitWaiters(int n, absl::Duration timeout = absl::Seconds(5)) {
    struct Arg {
      FakeClock* self;
      int n;
    } arg{this, n};
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return static_cast<int>(a->self->waiters_.size()) >= a->n;
            },
            &arg),
        timeout);
  }

  // The earliest deadline of the current waiters (InfiniteFuture if none).
  absl::Time next_deadline() {
    absl::MutexLock lock(&mu_);
    absl::Time t = absl::InfiniteFuture();
    for (const Waiter* w : waiters_) t = std::min(t, w->deadline);
    return t;
  }

 private:
  struct Waiter {
    absl::CondVar* cv;
    absl::Mutex* mu;
    absl::Time deadline;
    int pins;  // guarded by FakeClock::mu_: Advance() calls still using it
  };

  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::vector<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faceserve

#endif  // FACESERVE_TESTS_TESTING_FAKE_CLOCK_H_
