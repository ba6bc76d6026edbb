// BatchedModelImpl: the dynamic batcher behind BatchedModel::Create (contract
// in batched_model.h). In the spirit of Triton's dynamic batcher and TF
// Serving's shared batch scheduler, reduced to one FIFO queue per model.
//
// Invariants (all under mu_):
//  * Every item in queue_ was accepted by Submit() (which returned OK) and its
//    `done` has not been called yet. An item leaves queue_ exactly once: popped
//    into a batch by a worker, or taken by Shutdown(); whoever removes it calls
//    its `done` exactly once, outside mu_.
//  * queue_.size() <= options_.max_queue_size.
//  * Once shutdown_ is true it stays true, queue_ stays empty and Submit()
//    rejects with UNAVAILABLE.
//  * All queued items have shape item_shape_ (the first accepted item's).
//  * Enqueue times are non-decreasing along queue_ (for a clock that does not
//    step back), so the front item is the oldest and its enqueue time +
//    max_queue_delay is the next flush time. If the clock steps back past the
//    front's enqueue time, the worker flushes at once rather than stall.
//
// Implementation details follow.
//
// Worker loop (num_workers threads, all identical):
//   lock mu_; loop:
//     shutdown_                 -> exit (Shutdown() already emptied the queue)
//     queue_ empty              -> cv_.Wait (untimed; Submit signals)
//     size >= max_batch_size    -> form a batch
//     now >= front.enqueue+delay -> form a batch
//     otherwise                 -> clock_->WaitUntil(cv_, front.enqueue+delay)
//   unlock; take a CPU run slot (runner_->run_slots(); none for CUDA and
//   fakes), which may block while other models compute; lock mu_ again:
//   shutdown_ -> exit, queue_ empty (another worker took it) -> start over;
//   pop up to max_batch_size items; if items remain, Signal another idle
//   worker; unlock; drop expired / cancelled items; StackBatch; Run (outside
//   the lock, slot held); release the slot; check outputs; SliceBatch; call
//   every `done`.
// There is no polling: a worker sleeps either until signalled or until the
// oldest item's flush time by the injected Clock.
//
// Wake-ups: Submit() signals cv_ (after releasing mu_) when the queue goes from
// empty to non-empty (an idle worker must start the timed wait) and whenever
// the queue holds at least max_batch_size items (a full batch is ready). A
// worker that leaves items behind signals once more, so a batch is never
// stranded while another worker is idle. Every waiter re-checks the state
// under mu_ when it wakes, so spurious and surplus wake-ups are harmless, and a
// timed waiter always wakes by the (current) front item's flush time because
// the front only gets younger. Shutdown() uses SignalAll.
//
// Lock order: mu_ may be held while calling clock_ (a FakeClock takes its own
// mutex inside) and BatchObserver::OnQueueDepth (so depth updates arrive in
// order). Never held while calling the model, `done`, `is_cancelled`, or the
// other observer methods. join_mu_ is taken before mu_, never after.
#include "core/batching/batched_model.h"

#include <algorithm>
#include <deque>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/error_reason.h"
#include "core/thread_name.h"

namespace faceserve {
namespace {

std::string ShapeToString(const std::vector<int64_t>& shape) {
  Tensor t;
  t.shape = shape;
  return t.ShapeString();
}

absl::Status ValidateOptions(const BatchingOptions& o) {
  if (o.max_batch_size < 1) {
    return absl::InvalidArgumentError("max_batch_size must be >= 1, got " +
                                      std::to_string(o.max_batch_size));
  }
  if (o.max_queue_size < 1) {
    return absl::InvalidArgumentError("max_queue_size must be >= 1, got " +
                                      std::to_string(o.max_queue_size));
  }
  if (o.num_workers < 1) {
    return absl::InvalidArgumentError("num_workers must be >= 1, got " +
                                      std::to_string(o.num_workers));
  }
  if (o.max_queue_delay_us < 0) {
    return absl::InvalidArgumentError("max_queue_delay_us must be >= 0, got " +
                                      std::to_string(o.max_queue_delay_us));
  }
  return absl::OkStatus();
}

// The BatchedModel returned by Create(). Thread-safety: every public method
// may be called concurrently from any thread, except that Shutdown() and the
// destructor must not be called from a `done` callback (they join the worker
// that runs it).
class BatchedModelImpl final : public BatchedModel {
 public:
  BatchedModelImpl(std::string name, std::shared_ptr<ModelRunner> runner,
                   const BatchingOptions& options, Clock* clock,
                   BatchObserver* observer)
      : name_(std::move(name)),
        runner_(std::move(runner)),
        options_(options),
        delay_(absl::Microseconds(options.max_queue_delay_us)),
        clock_(clock),
        observer_(observer) {}

  ~BatchedModelImpl() override { Shutdown(); }

  // Starts the workers; called once by Create() before the object is shared.
  void Start() {
    absl::MutexLock join_lock(&join_mu_);
    workers_.reserve(options_.num_workers);
    for (int i = 0; i < options_.num_workers; ++i) {
      workers_.emplace_back([this, thread_name = ThreadNameFor(name_, i)] {
        NameThisThread(thread_name);
        WorkerLoop();
      });
    }
  }

  absl::Status Submit(Tensor item, absl::Time deadline,
                      std::function<bool()> is_cancelled, Done done) override {
    if (!done) return absl::InvalidArgumentError("Submit: `done` is empty");
    if (static_cast<int64_t>(item.data.size()) != item.num_elements()) {
      return absl::InvalidArgumentError(
          "Submit to " + name_ + ": tensor of shape " + item.ShapeString() +
          " holds " + std::to_string(item.data.size()) + " values");
    }
    bool signal = false;
    bool full = false;
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_) {
        return WithReason(absl::UnavailableError("model " + name_ + " is shutting down"),
                          ErrorReason::kShuttingDown);
      }
      if (!has_item_shape_) {
        item_shape_ = item.shape;
        has_item_shape_ = true;
      } else if (item.shape != item_shape_) {
        return absl::InvalidArgumentError(
            "Submit to " + name_ + ": item shape " + item.ShapeString() +
            " differs from this model's item shape " +
            ShapeToString(item_shape_));
      }
      if (static_cast<int>(queue_.size()) >= options_.max_queue_size) {
        full = true;
      } else {
        queue_.push_back(Item{std::move(item), deadline,
                              std::move(is_cancelled), std::move(done),
                              clock_->Now()});
        const size_t size = queue_.size();
        signal =
            size == 1 || size >= static_cast<size_t>(options_.max_batch_size);
        if (observer_) observer_->OnQueueDepth(name_, static_cast<int>(size));
      }
    }
    if (full) {
      if (observer_) observer_->OnDrop(name_, DropReason::kQueueFull);
      return WithReason(
          absl::ResourceExhaustedError("queue of model " + name_ + " is full (" +
                                       std::to_string(options_.max_queue_size) + " items)"),
          ErrorReason::kQueueFull);
    }
    if (signal)
      cv_.Signal();  // after releasing mu_: the waiter can run at once
    return absl::OkStatus();
  }

  void Shutdown() override {
    // join_mu_ serialises concurrent Shutdown() calls so that each returns
    // only after the workers have exited.
    absl::MutexLock join_lock(&join_mu_);
    std::vector<Item> orphans;
    {
      absl::MutexLock lock(&mu_);
      if (!shutdown_) {
        shutdown_ = true;
        orphans.assign(std::make_move_iterator(queue_.begin()),
                       std::make_move_iterator(queue_.end()));
        queue_.clear();
        if (observer_) observer_->OnQueueDepth(name_, 0);
      }
    }
    cv_.SignalAll();
    for (Item& item : orphans) {
      if (observer_) observer_->OnDrop(name_, DropReason::kShutdown);
      item.done(WithReason(absl::UnavailableError("model " + name_ + " is shutting down"),
                           ErrorReason::kShuttingDown));
    }
    for (std::thread& t : workers_) {
      if (t.joinable()) t.join();
    }
    workers_.clear();
  }

  int queue_depth() const override {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(queue_.size());
  }
  const std::string& name() const override { return name_; }
  const BatchingOptions& options() const override { return options_; }

 private:
  struct Item {
    Tensor input;
    absl::Time deadline;
    std::function<bool()> is_cancelled;
    Done done;
    absl::Time enqueued;
  };

  void WorkerLoop() {
    CpuRunSlots* const slots = runner_->run_slots();
    while (true) {
      std::vector<Item> batch;
      bool more = false;
      {
        absl::MutexLock lock(&mu_);
        if (!WaitForBatch()) return;
      }
      // A batch is due. With shared run slots, wait for a core *before*
      // popping: whatever queues meanwhile joins this batch (up to
      // max_batch_size), instead of a small batch idling on the slot while
      // the queue behind it grows. Run() sees the slot held and takes none.
      auto slot = std::make_unique<CpuRunSlots::Hold>(slots);
      {
        absl::MutexLock lock(&mu_);
        if (shutdown_) return;      // Shutdown() failed the queued items
        if (queue_.empty()) continue;  // another worker took them
        const size_t n = std::min(queue_.size(),
                                  static_cast<size_t>(options_.max_batch_size));
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + n));
        queue_.erase(queue_.begin(), queue_.begin() + n);
        more = !queue_.empty();
        if (observer_) {
          observer_->OnQueueDepth(name_, static_cast<int>(queue_.size()));
        }
      }
      if (more) cv_.Signal();  // hand the rest to another idle worker
      RunBatch(std::move(batch), std::move(slot));
    }
  }

  // Blocks until a batch should be formed (true) or shutdown began (false).
  bool WaitForBatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (true) {
      if (shutdown_) return false;
      if (queue_.empty()) {
        cv_.Wait(&mu_);
        continue;
      }
      if (queue_.size() >= static_cast<size_t>(options_.max_batch_size)) {
        return true;
      }
      const absl::Time enqueued = queue_.front().enqueued;
      const absl::Time flush_at = enqueued + delay_;
      const absl::Time now = clock_->Now();
      if (now >= flush_at || now < enqueued) return true;
      clock_->WaitUntil(&cv_, &mu_, flush_at);
    }
  }

  // Runs one popped batch outside mu_ and calls every item's `done`. The run
  // slot is given back as soon as the forward pass is over.
  void RunBatch(std::vector<Item> popped, std::unique_ptr<CpuRunSlots::Hold> slot) {
    const absl::Time now = clock_->Now();
    std::vector<Item> batch;
    batch.reserve(popped.size());
    for (Item& item : popped) {
      if (item.deadline <= now) {
        Drop(item, DropReason::kDeadline,
             absl::DeadlineExceededError("deadline passed while queued for " +
                                         name_));
      } else if (item.is_cancelled && item.is_cancelled()) {
        Drop(item, DropReason::kCancelled,
             absl::CancelledError("cancelled while queued for " + name_));
      } else {
        batch.push_back(std::move(item));
      }
    }
    if (batch.empty()) return;

    const int64_t n = static_cast<int64_t>(batch.size());
    Tensor stacked;
    if (n == 1) {
      // A batch of one takes the item's own buffer (a detector input is
      // megabytes): the item is not read again.
      stacked.shape.push_back(1);
      stacked.shape.insert(stacked.shape.end(), batch[0].input.shape.begin(),
                           batch[0].input.shape.end());
      stacked.data = std::move(batch[0].input.data);
    } else {
      std::vector<const Tensor*> inputs;
      inputs.reserve(batch.size());
      for (const Item& item : batch) inputs.push_back(&item.input);
      stacked = StackBatch(inputs);
    }

    const absl::Time start = clock_->Now();
    absl::StatusOr<std::vector<Tensor>> outputs = RunModel(stacked);
    const absl::Duration execution = clock_->Now() - start;
    slot.reset();
    if (outputs.ok()) outputs = CheckOutputs(*std::move(outputs), n);

    if (observer_) {
      std::vector<absl::Duration> waits;
      waits.reserve(batch.size());
      for (const Item& item : batch) waits.push_back(start - item.enqueued);
      observer_->OnBatch(name_, static_cast<int>(n), waits, execution);
    }
    if (!outputs.ok()) {
      for (Item& item : batch) item.done(outputs.status());
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      std::vector<Tensor> mine;
      mine.reserve(outputs->size());
      for (const Tensor& out : *outputs) mine.push_back(SliceBatch(out, i));
      batch[i].done(std::move(mine));
    }
  }

  absl::StatusOr<std::vector<Tensor>> RunModel(const Tensor& input) {
    try {
      return runner_->Run(input);
    } catch (const std::exception& e) {
      return absl::InternalError("model " + name_ + " threw: " + e.what());
    } catch (...) {
      return absl::InternalError("model " + name_ + " threw");
    }
  }

  // Every output must have the batch as its leading dimension and hold as
  // many values as its shape says; otherwise SliceBatch would read garbage.
  absl::StatusOr<std::vector<Tensor>> CheckOutputs(std::vector<Tensor> outputs,
                                                   int64_t n) const {
    for (size_t k = 0; k < outputs.size(); ++k) {
      const Tensor& out = outputs[k];
      if (out.shape.empty() || out.shape[0] != n ||
          static_cast<int64_t>(out.data.size()) != out.num_elements()) {
        return absl::InternalError(
            "model " + name_ + " output " + std::to_string(k) + " has shape " +
            out.ShapeString() + " and " + std::to_string(out.data.size()) +
            " values for a batch of " + std::to_string(n));
      }
    }
    return outputs;
  }

  void Drop(Item& item, DropReason reason, absl::Status status) {
    if (observer_) observer_->OnDrop(name_, reason);
    item.done(std::move(status));
  }

  // Constant after construction.
  const std::string name_;
  const std::shared_ptr<ModelRunner> runner_;
  const BatchingOptions options_;
  const absl::Duration delay_;
  Clock* const clock_;
  BatchObserver* const observer_;

  // Guarded by join_mu_ (taken before mu_). The threads themselves are
  // created in Start() and joined in Shutdown().
  absl::Mutex join_mu_;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(join_mu_);

  // Guarded by mu_.
  mutable absl::Mutex mu_;
  absl::CondVar cv_;  // signalled on: new work, full batch, leftovers, shutdown
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool has_item_shape_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<int64_t> item_shape_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<BatchedModel>> BatchedModel::Create(
    std::string name, std::shared_ptr<ModelRunner> runner,
    const BatchingOptions& options, Clock* clock, BatchObserver* observer) {
  if (!runner) return absl::InvalidArgumentError("BatchedModel: null runner");
  if (absl::Status s = ValidateOptions(options); !s.ok()) {
    return absl::InvalidArgumentError("BatchedModel " + name + ": " +
                                      std::string(s.message()));
  }
  auto model = std::make_unique<BatchedModelImpl>(
      std::move(name), std::move(runner), options,
      clock ? clock : Clock::Real(), observer);
  model->Start();
  return std::unique_ptr<BatchedModel>(std::move(model));
}

}  // namespace faceserve
