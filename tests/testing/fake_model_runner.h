// FakeModelRunner: a ModelRunner for tests of everything above the model.
//
// Contract:
//  * By default Run(input [N, ...]) returns two outputs, so routing and
//    multi-output slicing are checkable:
//      0: input * 2, same shape as input;
//      1: shape [N], the sum of each item's values.
//    SetOutputFn() replaces this computation (e.g. to return a wrong shape).
//  * Every call is recorded (batch size = input.shape[0], and the input)
//    when it starts, before any blocking or failure.
//  * Block() makes calls wait (after being recorded) until Unblock().
//  * FailWith(status) makes calls fail with `status` until ClearFailure();
//    FailNext(status) fails exactly the next call.
//  * SetRunSlots() makes run_slots() return shared CPU run slots (as a CPU
//    TorchModelRunner does); each call records how many were free when it
//    started (slots_free_at_run), so a test can see that its batcher held one.
//  * Await*() helpers block until a count is reached or a real-time timeout
//    passes (they return false then, so a broken test fails instead of
//    hanging).
//
// Thread-safety: every method is safe to call concurrently; Run() may run on
// many threads at once, as ModelRunner requires.
#ifndef FACESERVE_TESTS_TESTING_FAKE_MODEL_RUNNER_H_
#define FACESERVE_TESTS_TESTING_FAKE_MODEL_RUNNER_H_

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/model_runner.h"
#include "core/tensor.h"

namespace faceserve {

class FakeModelRunner : public ModelRunner {
 public:
  using OutputFn =
      std::function<absl::StatusOr<std::vector<Tensor>>(const Tensor& input)>;

  FakeModelRunner() = default;
  FakeModelRunner(const FakeModelRunner&) = delete;
  FakeModelRunner& operator=(const FakeModelRunner&) = delete;

  // The default computation (see the contract above).
  static std::vector<Tensor> DoubleAndSum(const Tensor& input) {
    Tensor doubled = input;
    for (float& v : doubled.data) v *= 2.0f;
    const int64_t n = input.shape.empty() ? 1 : input.shape[0];
    const int64_t per_item = n == 0 ? 0 : input.num_elements() / n;
    Tensor sums(std::vector<int64_t>{n});
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < per_item; ++j) {
        sums.data[i] += input.data[i * per_item + j];
      }
    }
    return {std::move(doubled), std::move(sums)};
  }

  absl::StatusOr<std::vector<Tensor>> Run(const Tensor& input) override {
    OutputFn fn;
    std::optional<absl::Status> failure;
    {
      absl::MutexLock lock(&mu_);
      batch_sizes_.push_back(
          input.shape.empty() ? 0 : static_cast<int>(input.shape[0]));
      if (run_slots_ != nullptr) slots_free_at_run_.push_back(run_slots_->free());
      inputs_.push_back(input);
      ++gated_;
      mu_.Await(absl::Condition(this, &FakeModelRunner::NotBlocked));
      --gated_;
      if (fail_next_.has_value()) {
        failure = std::move(fail_next_);
        fail_next_.reset();
      } else if (!fail_with_.ok()) {
        failure = fail_with_;
      }
      fn = output_fn_;
    }
    if (failure.has_value()) return *failure;
    if (fn) return fn(input);
    return DoubleAndSum(input);
  }

  std::string device() const override { return "fake"; }
  std::string dtype() const override { return "float32"; }
  CpuRunSlots* run_slots() const override {
    absl::MutexLock lock(&mu_);
    return run_slots_;
  }

  // Set before the runner is handed to a BatchedModel (not owned).
  void SetRunSlots(CpuRunSlots* slots) {
    absl::MutexLock lock(&mu_);
    run_slots_ = slots;
  }
  // With SetRunSlots: the slots free as each call started, in call order.
  std::vector<int> slots_free_at_run() const {
    absl::MutexLock lock(&mu_);
    return slots_free_at_run_;
  }

  void Block() {
    absl::MutexLock lock(&mu_);
    blocked_ = true;
  }
  void Unblock() {
    absl::MutexLock lock(&mu_);
    blocked_ = false;
  }
  void FailWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_with_ = std::move(status);
  }
  void ClearFailure() {
    absl::MutexLock lock(&mu_);
    fail_with_ = absl::OkStatus();
  }
  void FailNext(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_next_ = std::move(status);
  }
  void SetOutputFn(OutputFn fn) {
    absl::MutexLock lock(&mu_);
    output_fn_ = std::move(fn);
  }

  // Batch sizes of all calls so far, in call order.
  std::vector<int> batch_sizes() const {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }
  // Inputs of all calls so far, in call order.
  std::vector<Tensor> inputs() const {
    absl::MutexLock lock(&mu_);
    return inputs_;
  }
  int num_calls() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(batch_sizes_.size());
  }
  // Calls currently held by Block().
  int num_blocked() const {
    absl::MutexLock lock(&mu_);
    return gated_;
  }

  // Until at least `n` calls have started.
  bool AwaitCalls(int n, absl::Duration timeout = absl::Seconds(5)) const {
    return AwaitCount(&batch_sizes_size_fn, n, timeout);
  }
  // Until at least `n` calls are held by Block().
  bool AwaitBlocked(int n, absl::Duration timeout = absl::Seconds(5)) const {
    return AwaitCount(&gated_fn, n, timeout);
  }

 private:
  using CountFn = int (*)(const FakeModelRunner*);
  static int batch_sizes_size_fn(const FakeModelRunner* r)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return static_cast<int>(r->batch_sizes_.size());
  }
  static int gated_fn(const FakeModelRunner* r) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return r->gated_;
  }
  bool NotBlocked() const ABSL_NO_THREAD_SAFETY_ANALYSIS { return !blocked_; }

  bool AwaitCount(CountFn count, int n, absl::Duration timeout) const {
    struct Arg {
      const FakeModelRunner* self;
      CountFn count;
      int n;
    } arg{this, count, n};
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](Arg* a) { return a->count(a->self) >= a->n; }, &arg),
        timeout);
  }

  mutable absl::Mutex mu_;
  bool blocked_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status fail_with_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> fail_next_ ABSL_GUARDED_BY(mu_);
  OutputFn output_fn_ ABSL_GUARDED_BY(mu_);
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
  std::vector<Tensor> inputs_ ABSL_GUARDED_BY(mu_);
  int gated_ ABSL_GUARDED_BY(mu_) = 0;  // calls held by Block() right now
  CpuRunSlots* run_slots_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<int> slots_free_at_run_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faceserve

#endif  // FACESERVE_TESTS_TESTING_FAKE_MODEL_RUNNER_H_
