// CpuRunSlots: how many forward passes may run on the CPU at once.
//
// LibTorch's intra-op thread count is process-wide, but every thread that
// calls forward() gets its own team of that many threads. With a worker per
// model (detector and each predictor) that would put models x threads
// threads on the cores. The runners of CPU models share one CpuRunSlots
// sized cores / intra-op threads, so workers x threads never exceed the
// cores; CUDA models do not use it.
//
// A batcher takes its slot *before* it forms a batch (ModelRunner::run_slots),
// so that everything queued while it waited for a core rides in that batch;
// the runner's own Hold inside Run() then sees the slot already held by its
// thread and takes no second one.
//
// Thread-safe.
#ifndef FACESERVE_CORE_CPU_RUN_SLOTS_H_
#define FACESERVE_CORE_CPU_RUN_SLOTS_H_

#include "absl/synchronization/mutex.h"

namespace faceserve {

class CpuRunSlots {
 public:
  explicit CpuRunSlots(int slots) : free_(slots < 1 ? 1 : slots), total_(free_) {}

  int total() const { return total_; }

  // Holds one slot for its lifetime; blocks until one is free. A null
  // `slots`, or slots this thread already holds, make it a no-op (re-entrant:
  // a thread never holds two slots of the same CpuRunSlots).
  class Hold {
   public:
    explicit Hold(CpuRunSlots* slots)
        : slots_(slots != nullptr && held_by_this_thread_ != slots ? slots : nullptr) {
      if (slots_ == nullptr) return;
      {
        absl::MutexLock lock(&slots_->mu_);
        slots_->mu_.Await(absl::Condition(
            +[](int* free) { return *free > 0; }, &slots_->free_));
        --slots_->free_;
      }
      held_by_this_thread_ = slots_;
    }
    ~Hold() {
      if (slots_ == nullptr) return;
      held_by_this_thread_ = nullptr;
      absl::MutexLock lock(&slots_->mu_);
      ++slots_->free_;
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    CpuRunSlots* const slots_;  // null: this Hold took nothing
    static inline thread_local const CpuRunSlots* held_by_this_thread_ = nullptr;
  };

  // Slots free right now (for tests and diagnostics).
  int free() const {
    absl::MutexLock lock(&mu_);
    return free_;
  }

 private:
  mutable absl::Mutex mu_;
  int free_ ABSL_GUARDED_BY(mu_);
  const int total_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_CPU_RUN_SLOTS_H_
