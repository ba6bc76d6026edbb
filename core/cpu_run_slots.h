// CpuRunSlots: how many forward passes may run on the CPU at once, and on
// which cores.
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
// Pinning (one thread per pass): slot i belongs to core cpus[i], and a Hold
// pins its thread to that core until it ends, preferring the free slot of
// the core the thread already runs on. Without it Linux sometimes
// queues two passes on one core while the other core idles for several
// milliseconds (4 % of the CPU time idle at concurrency 16 on 2 cores,
// bench/results); with it two passes never share a core.
//
// Thread-safe.
#ifndef FACESERVE_CORE_CPU_RUN_SLOTS_H_
#define FACESERVE_CORE_CPU_RUN_SLOTS_H_

#include <sched.h>

#include <atomic>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace faceserve {

class CpuRunSlots {
 public:
  // `slots` passes at once (at least 1). `cpus`: the core of each slot, at
  // least `slots` of them, or empty for no pinning.
  explicit CpuRunSlots(int slots, std::vector<int> cpus = {});

  int total() const { return total_; }
  // Whether Holds pin their thread (false once pinning failed, e.g. under a
  // seccomp policy that forbids sched_setaffinity).
  bool pinning() const { return pinning_.load(std::memory_order_relaxed); }
  const std::vector<int>& cpus() const { return cpus_; }

  // Holds one slot for its lifetime; blocks until one is free. A null
  // `slots`, or slots this thread already holds, make it a no-op (re-entrant:
  // a thread never holds two slots of the same CpuRunSlots).
  class Hold {
   public:
    explicit Hold(CpuRunSlots* slots);
    ~Hold();
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

    // The slot taken (0 .. total-1), or -1 when this Hold took none.
    int index() const { return slots_ != nullptr ? index_ : -1; }

   private:
    CpuRunSlots* const slots_;  // null: this Hold took nothing
    int index_ = -1;
    bool pinned_ = false;  // this thread's affinity was narrowed to the slot's core
    cpu_set_t unpinned_;   // its affinity before, restored at the end
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
  std::vector<bool> taken_ ABSL_GUARDED_BY(mu_);  // by slot index
  std::vector<int> cpus_;                          // core of each slot; empty: no pinning
  std::atomic<bool> pinning_{false};
};

// The CPUs this process may run on (its affinity mask), ascending; never
// empty (falls back to 0 .. hardware_concurrency-1). In a container limited
// with --cpuset-cpus this is the cpuset, not every core of the host.
std::vector<int> AllowedCpus();

}  // namespace faceserve

#endif  // FACESERVE_CORE_CPU_RUN_SLOTS_H_
