// ThreadPool: a fixed set of threads running posted tasks in FIFO order. The
// pipeline's CPU work (decoding, cropping, NMS, drawing) runs here, never on
// gRPC threads or batch workers.
//
// Thread-safety: Post() may be called from any thread, including pool
// threads. The destructor runs every task already posted, then joins.
#ifndef FACESERVE_CORE_PIPELINE_THREAD_POOL_H_
#define FACESERVE_CORE_PIPELINE_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping and drained
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_THREAD_POOL_H_
