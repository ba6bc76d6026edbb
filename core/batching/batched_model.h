// BatchedModel: a dynamic batcher in front of one ModelRunner.
//
// Items (one input tensor each, no batch dimension) from any number of
// producers queue up; worker threads form a batch when `max_batch_size` items
// wait or when the oldest item has waited `max_queue_delay_us`, run the model
// once outside the lock, and hand each item its own slice of the outputs.
// This is what lets faces from different requests share one forward pass.
//
// Contract:
//  * Submit() either returns a non-OK status and never calls `done`, or
//    returns OK and calls `done` exactly once, later, from a worker thread.
//  * The queue is bounded by `max_queue_size`: a full queue rejects at once
//    with RESOURCE_EXHAUSTED (retryable), so memory stays bounded.
//  * Items whose deadline has passed, or whose `is_cancelled` returns true,
//    are dropped before compute with DEADLINE_EXCEEDED / CANCELLED.
//  * Shutdown() (and the destructor) stop accepting work, wake every waiter,
//    finish the batches in flight and fail every queued item with
//    UNAVAILABLE, then join the workers.
//  * `done` runs on a worker thread: keep it short (post real work elsewhere).
//    It may Submit() again, but must not call Shutdown() or destroy this
//    object (both join the worker that runs it).
//  * An item has expired when its deadline is at or before the time its batch
//    is formed. The first item ever accepted fixes the item shape for good.
//  * When the runner has CPU run slots (ModelRunner::run_slots), a worker
//    whose batch is due first takes a slot and only then pops the batch, so
//    items queued while every core was busy join it. Shutdown() then waits,
//    at most, for the forward pass of another model that holds the slot.
//
// Thread-safety: all public methods are safe to call concurrently.
#ifndef FACESERVE_CORE_BATCHING_BATCHED_MODEL_H_
#define FACESERVE_CORE_BATCHING_BATCHED_MODEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/batching/clock.h"
#include "core/batching/batching_options.h"
#include "core/model_runner.h"
#include "core/tensor.h"

namespace faceserve {

// Why an item left the queue without being computed.
enum class DropReason { kDeadline, kCancelled, kQueueFull, kShutdown };

// Receives batching events, e.g. to export metrics. Called from worker
// threads and from Submit(); implementations must be thread-safe and fast.
class BatchObserver {
 public:
  virtual ~BatchObserver() = default;
  // One batch ran: its size, how long each of its items waited in the queue,
  // and the model's execution time.
  virtual void OnBatch(const std::string& model, int batch_size,
                       const std::vector<absl::Duration>& queue_waits,
                       absl::Duration execution) = 0;
  virtual void OnDrop(const std::string& model, DropReason reason) = 0;
  // Queue depth after every change. Called with the batcher's lock held, so
  // the values arrive in order: must not call back into the BatchedModel.
  virtual void OnQueueDepth(const std::string& model, int depth) = 0;
};

class BatchedModel {
 public:
  using Done = std::function<void(absl::StatusOr<std::vector<Tensor>>)>;

  // `runner` is shared (it may be used by several BatchedModels); `clock` and
  // `observer` are not owned and must outlive this object (nullptr: the real
  // clock, no observer). Fails with INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<BatchedModel>> Create(
      std::string name, std::shared_ptr<ModelRunner> runner,
      const BatchingOptions& options, Clock* clock = nullptr,
      BatchObserver* observer = nullptr);

  virtual ~BatchedModel() = default;

  // Enqueues one item. `item` has no batch dimension; all items of one model
  // must have the same shape (INVALID_ARGUMENT otherwise). `is_cancelled` may
  // be empty. On success the outputs given to `done` have the batch
  // dimension removed.
  virtual absl::Status Submit(Tensor item, absl::Time deadline,
                              std::function<bool()> is_cancelled,
                              Done done) = 0;

  // See the contract above. Idempotent; returns when the workers have exited.
  virtual void Shutdown() = 0;

  virtual int queue_depth() const = 0;
  virtual const std::string& name() const = 0;
  virtual const BatchingOptions& options() const = 0;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_BATCHING_BATCHED_MODEL_H_
