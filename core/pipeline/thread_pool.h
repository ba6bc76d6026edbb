// ThreadPool: a fixed set of threads running posted tasks in FIFO order. The
// pipeline's CPU work (decoding, cropping, NMS, drawing) runs here, never on
// gRPC threads or batch workers.
//
// Thread-safety: Post() may be called from any thread, including pool
// threads. The destructor runs every task already posted, then joins.
#ifndef FACESERVE_CORE_PIPELINE_THREAD_POOL_H_
#define FACESERVE_CORE_PIPELINE_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/thread_name.h"

namespace faceserve {

class ThreadPool {
 public:
  // Threads are named "<name>/<i>" (see core/thread_name.h).
  explicit ThreadPool(int num_threads, const std::string& name = "pool") {
    if (num_threads < 1) num_threads = 1;
    for (int i = 0; i < num_threads; ++i) {
      threads_.emplace_back([this, thread_name = ThreadNameFor(name, i)] {
        NameThisThread(thread_name);
        Loop();
      });
    }
  }
  ~ThreadPool() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (std::thread& t : threads_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Post(std::function<void()> task) {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &ThreadPool::HasWorkOrStopping));
        if (tasks_.empty()) return;  // stopping and drained
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !tasks_.empty();
  }

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_THREAD_POOL_H_
