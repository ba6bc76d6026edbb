// Tests of BatchedModel (core/batching/batched_model.h). Timing-sensitive
// behaviour runs on a FakeClock, so the tests never sleep to "let time pass";
// the race and concurrency tests use the real clock and only check outcomes
// that hold under every interleaving.
#include "core/batching/batched_model.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/fake_model_runner.h"

namespace faceserve {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Le;

constexpr absl::Time kNoDeadline = absl::InfiniteFuture();

BatchingOptions Options(int max_batch_size, int64_t max_queue_delay_us,
                        int max_queue_size = 100, int num_workers = 1) {
  BatchingOptions o;
  o.max_batch_size = max_batch_size;
  o.max_queue_delay_us = max_queue_delay_us;
  o.max_queue_size = max_queue_size;
  o.num_workers = num_workers;
  return o;
}

// A [1, 2, 2] item whose values identify it: v, v+1, v+2, v+3.
Tensor MakeItem(float v) { return Tensor({1, 2, 2}, {v, v + 1, v + 2, v + 3}); }

// Checks the FakeModelRunner's default outputs for MakeItem(v).
void ExpectOutputsOf(const absl::StatusOr<std::vector<Tensor>>& result,
                     float v) {
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ((*result)[0].shape, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_THAT((*result)[0].data,
              ElementsAre(2 * v, 2 * (v + 1), 2 * (v + 2), 2 * (v + 3)));
  EXPECT_TRUE((*result)[1].shape.empty());
  EXPECT_THAT((*result)[1].data, ElementsAre(4 * v + 6));
}

// Collects the results handed to `done`, by item id. Thread-safe.
class Results {
 public:
  BatchedModel::Done Callback(int id) {
    return [this, id](absl::StatusOr<std::vector<Tensor>> r) {
      absl::MutexLock lock(&mu_);
      ++calls_[id];
      results_.insert_or_assign(id, std::move(r));
      ++total_;
    };
  }
  // Until `n` callbacks have run (false after 5 s of real time).
  bool Await(int n) {
    struct Arg {
      Results* self;
      int n;
    } arg{this, n};
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(
                                    +[](Arg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                      return a->self->total_ >= a->n;
                                    },
                                    &arg),
                                absl::Seconds(5));
  }
  int total() {
    absl::MutexLock lock(&mu_);
    return total_;
  }
  int calls(int id) {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(id);
    return it == calls_.end() ? 0 : it->second;
  }
  absl::StatusOr<std::vector<Tensor>> Get(int id) {
    absl::MutexLock lock(&mu_);
    auto it = results_.find(id);
    if (it == results_.end()) return absl::NotFoundError("no result yet");
    return it->second;
  }
  absl::StatusCode code(int id) { return Get(id).status().code(); }

 private:
  absl::Mutex mu_;
  std::map<int, int> calls_ ABSL_GUARDED_BY(mu_);
  std::map<int, absl::StatusOr<std::vector<Tensor>>> results_
      ABSL_GUARDED_BY(mu_);
  int total_ ABSL_GUARDED_BY(mu_) = 0;
};

// Records every observer event. Thread-safe.
class RecordingObserver : public BatchObserver {
 public:
  void OnBatch(const std::string& model, int batch_size,
               const std::vector<absl::Duration>& queue_waits,
               absl::Duration execution) override {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(model, "m");
    EXPECT_EQ(static_cast<int>(queue_waits.size()), batch_size);
    batch_sizes_.push_back(batch_size);
    waits_.push_back(queue_waits);
    executions_.push_back(execution);
  }
  void OnDrop(const std::string& model, DropReason reason) override {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(model, "m");
    ++drops_[reason];
  }
  void OnQueueDepth(const std::string& model, int depth) override {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(model, "m");
    depths_.push_back(depth);
  }

  std::vector<int> batch_sizes() {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }
  std::vector<std::vector<absl::Duration>> waits() {
    absl::MutexLock lock(&mu_);
    return waits_;
  }
  std::vector<absl::Duration> executions() {
    absl::MutexLock lock(&mu_);
    return executions_;
  }
  int drops(DropReason reason) {
    absl::MutexLock lock(&mu_);
    return drops_[reason];
  }
  std::vector<int> depths() {
    absl::MutexLock lock(&mu_);
    return depths_;
  }

 private:
  absl::Mutex mu_;
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<absl::Duration>> waits_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> executions_ ABSL_GUARDED_BY(mu_);
  std::map<DropReason, int> drops_ ABSL_GUARDED_BY(mu_);
  std::vector<int> depths_ ABSL_GUARDED_BY(mu_);
};

// Everything one test needs. Members are destroyed bottom-up, so the model
// (and its workers) goes before the clock, runner, observer and results.
struct Harness {
  explicit Harness(const BatchingOptions& options, bool real_clock = false,
                   CpuRunSlots* run_slots = nullptr) {
    runner->SetRunSlots(run_slots);
    auto created = BatchedModel::Create(
        "m", runner, options, real_clock ? Clock::Real() : &clock, &observer);
    EXPECT_TRUE(created.ok()) << created.status();
    if (created.ok()) model = *std::move(created);
  }
  absl::Status Submit(int id, absl::Time deadline = kNoDeadline,
                      std::function<bool()> is_cancelled = nullptr) {
    return model->Submit(MakeItem(static_cast<float>(id)), deadline,
                         std::move(is_cancelled), results.Callback(id));
  }

  FakeClock clock;
  std::shared_ptr<FakeModelRunner> runner = std::make_shared<FakeModelRunner>();
  RecordingObserver observer;
  Results results;
  std::unique_ptr<BatchedModel> model;
};

// Runs `f` on another thread and fails (exiting, since a hung thread cannot be
// reclaimed) if it does not return within `limit`.
template <typename F>
void RunWithin(absl::Duration limit, const char* what, F f) {
  auto fut = std::async(std::launch::async, std::move(f));
  if (fut.wait_for(absl::ToChronoNanoseconds(limit)) !=
      std::future_status::ready) {
    std::fprintf(stderr, "HANG: %s did not finish within %s\n", what,
                 absl::FormatDuration(limit).c_str());
    std::fflush(stderr);
    std::_Exit(3);
  }
  fut.get();
}

TEST(BatchedModelTest, CreateRejectsInvalidOptions) {
  auto runner = std::make_shared<FakeModelRunner>();
  EXPECT_TRUE(BatchedModel::Create("m", runner, Options(1, 0, 1, 1)).ok());
  for (const BatchingOptions& bad :
       {Options(0, 10), Options(-1, 10), Options(4, -1), Options(4, 10, 0),
        Options(4, 10, 100, 0)}) {
    EXPECT_EQ(BatchedModel::Create("m", runner, bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(BatchedModel::Create("m", nullptr, Options(4, 10)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BatchedModelTest, ExposesNameOptionsAndQueueDepth) {
  Harness h(Options(4, 1000, 100, 2));
  EXPECT_EQ(h.model->name(), "m");
  EXPECT_EQ(h.model->options().max_batch_size, 4);
  EXPECT_EQ(h.model->options().num_workers, 2);
  EXPECT_EQ(h.model->queue_depth(), 0);
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.Submit(2).ok());
  EXPECT_EQ(h.model->queue_depth(), 2);
}

TEST(BatchedModelTest, GroupsItemsByMaxBatchSizeAndFlushesTheRestAtTheDelay) {
  Harness h(Options(/*max_batch_size=*/4, /*max_queue_delay_us=*/1000));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(h.Submit(i).ok());

  // Two full batches run at once; the last two items wait for the delay.
  ASSERT_TRUE(h.runner->AwaitCalls(2));
  ASSERT_TRUE(h.clock.AwaitWaiters(1));
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(4, 4));
  EXPECT_EQ(h.model->queue_depth(), 2);
  EXPECT_EQ(h.results.total(), 8);

  h.clock.Advance(absl::Microseconds(1000));
  ASSERT_TRUE(h.results.Await(10));
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(4, 4, 2));
  // FIFO: the batches hold items 0-3, 4-7, 8-9 in order.
  const std::vector<Tensor> inputs = h.runner->inputs();
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].shape, (std::vector<int64_t>{4, 1, 2, 2}));
  EXPECT_EQ(inputs[0].data[0], 0.0f);
  EXPECT_EQ(inputs[1].data[0], 4.0f);
  EXPECT_EQ(inputs[2].data[0], 8.0f);
  EXPECT_EQ(inputs[2].data[4], 9.0f);
  for (int i = 0; i < 10; ++i) {
    ExpectOutputsOf(h.results.Get(i), static_cast<float>(i));
    EXPECT_EQ(h.results.calls(i), 1);
  }
}

TEST(BatchedModelTest, FlushesExactlyAtTheDelayNotBefore) {
  Harness h(Options(8, 1000));
  const absl::Time t0 = h.clock.Now();
  ASSERT_TRUE(h.Submit(7).ok());
  ASSERT_TRUE(h.clock.AwaitWaiters(1));
  EXPECT_EQ(h.clock.next_deadline(), t0 + absl::Microseconds(1000));

  h.clock.Advance(absl::Microseconds(999));
  // Nothing was due, so nothing was woken: the worker is still asleep.
  EXPECT_EQ(h.clock.num_waiters(), 1);
  EXPECT_EQ(h.runner->num_calls(), 0);
  EXPECT_EQ(h.results.total(), 0);

  h.clock.Advance(absl::Microseconds(1));
  ASSERT_TRUE(h.results.Await(1));
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(1));
  ExpectOutputsOf(h.results.Get(7), 7.0f);
}

TEST(BatchedModelTest, DelayIsMeasuredFromTheOldestItem) {
  Harness h(Options(8, 1000));
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.clock.AwaitWaiters(1));
  h.clock.Advance(absl::Microseconds(600));
  ASSERT_TRUE(h.Submit(2).ok());  // does not restart the delay
  h.clock.Advance(absl::Microseconds(399));
  EXPECT_EQ(h.runner->num_calls(), 0);
  h.clock.Advance(absl::Microseconds(1));
  ASSERT_TRUE(h.results.Await(2));
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(2));
  EXPECT_THAT(h.observer.waits(),
              ElementsAre(ElementsAre(absl::Microseconds(1000),
                                      absl::Microseconds(400))));
}

TEST(BatchedModelTest, ZeroDelayRunsWithoutWaitingForTime) {
  Harness h(Options(8, 0));
  ASSERT_TRUE(h.Submit(3).ok());
  ASSERT_TRUE(h.results.Await(1));  // the fake clock never moved
  ExpectOutputsOf(h.results.Get(3), 3.0f);
}

TEST(BatchedModelTest, FullQueueRejectsWithResourceExhausted) {
  Harness h(Options(/*max_batch_size=*/4, 1000, /*max_queue_size=*/2));
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.Submit(2).ok());
  const absl::Status full = h.Submit(3);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_EQ(h.observer.drops(DropReason::kQueueFull), 1);

  h.clock.Advance(absl::Microseconds(1000));
  ASSERT_TRUE(h.results.Await(2));
  EXPECT_EQ(h.results.calls(3), 0);  // a rejected item never hears back
  // Room again once the queue drained.
  EXPECT_TRUE(h.Submit(4).ok());
}

TEST(BatchedModelTest, ExpiredItemIsDroppedWithDeadlineExceededBeforeCompute) {
  Harness h(Options(4, 1000));
  const absl::Time t0 = h.clock.Now();
  ASSERT_TRUE(h.Submit(1, t0 + absl::Microseconds(500)).ok());
  ASSERT_TRUE(h.Submit(2).ok());
  ASSERT_TRUE(
      h.Submit(3, t0 + absl::Microseconds(1000)).ok());  // expires at the flush
  h.clock.Advance(absl::Microseconds(1000));
  ASSERT_TRUE(h.results.Await(3));

  EXPECT_EQ(h.results.code(1), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(h.results.code(3), absl::StatusCode::kDeadlineExceeded);
  ExpectOutputsOf(h.results.Get(2), 2.0f);
  // The model saw only item 2, as a batch of one: its own buffer, whole.
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(1));
  EXPECT_EQ(h.runner->inputs()[0].shape, (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_THAT(h.runner->inputs()[0].data, ElementsAre(2.0f, 3.0f, 4.0f, 5.0f));
  EXPECT_EQ(h.observer.drops(DropReason::kDeadline), 2);
}

TEST(BatchedModelTest, CancelledItemIsDroppedWithCancelledBeforeCompute) {
  Harness h(Options(4, 1000));
  std::atomic<bool> cancelled{false};
  ASSERT_TRUE(h.Submit(1, kNoDeadline, [&] { return cancelled.load(); }).ok());
  ASSERT_TRUE(h.Submit(2, kNoDeadline, [] { return false; }).ok());
  cancelled = true;
  h.clock.Advance(absl::Microseconds(1000));
  ASSERT_TRUE(h.results.Await(2));

  EXPECT_EQ(h.results.code(1), absl::StatusCode::kCancelled);
  ExpectOutputsOf(h.results.Get(2), 2.0f);
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(1));
  EXPECT_EQ(h.runner->inputs()[0].data[0], 2.0f);
  EXPECT_EQ(h.observer.drops(DropReason::kCancelled), 1);
}

TEST(BatchedModelTest, BatchOfOnlyDroppedItemsNeverReachesTheModel) {
  Harness h(Options(4, 1000));
  ASSERT_TRUE(h.Submit(1, h.clock.Now()).ok());
  ASSERT_TRUE(h.Submit(2, kNoDeadline, [] { return true; }).ok());
  h.clock.Advance(absl::Microseconds(1000));
  ASSERT_TRUE(h.results.Await(2));
  EXPECT_EQ(h.results.code(1), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(h.results.code(2), absl::StatusCode::kCancelled);
  EXPECT_EQ(h.runner->num_calls(), 0);
  EXPECT_TRUE(h.observer.batch_sizes().empty());
}

TEST(BatchedModelTest, ModelErrorReachesEveryItemOfTheBatch) {
  Harness h(Options(3, 1000));
  h.runner->FailNext(absl::InternalError("boom"));
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(h.Submit(i).ok());
  ASSERT_TRUE(h.results.Await(6));
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(3, 3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.results.code(i), absl::StatusCode::kInternal);
    EXPECT_EQ(h.results.Get(i).status().message(), "boom");
  }
  for (int i = 3; i < 6; ++i) ExpectOutputsOf(h.results.Get(i), i);
}

TEST(BatchedModelTest, ModelExceptionBecomesInternalForTheBatch) {
  Harness h(Options(2, 1000));
  h.runner->SetOutputFn(
      [](const Tensor&) -> absl::StatusOr<std::vector<Tensor>> {
        throw std::runtime_error("kaput");
      });
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.Submit(2).ok());
  ASSERT_TRUE(h.results.Await(2));
  EXPECT_EQ(h.results.code(1), absl::StatusCode::kInternal);
  EXPECT_EQ(h.results.code(2), absl::StatusCode::kInternal);
}

TEST(BatchedModelTest, OutputWithWrongLeadingDimensionIsInternal) {
  Harness h(Options(2, 1000));
  h.runner->SetOutputFn([](const Tensor& in) {
    std::vector<Tensor> out = FakeModelRunner::DoubleAndSum(in);
    out[1] = Tensor({in.shape[0] + 1});  // one row too many
    return absl::StatusOr<std::vector<Tensor>>(std::move(out));
  });
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.Submit(2).ok());
  ASSERT_TRUE(h.results.Await(2));
  EXPECT_EQ(h.results.code(1), absl::StatusCode::kInternal);
  EXPECT_EQ(h.results.code(2), absl::StatusCode::kInternal);

  h.runner->SetOutputFn([](const Tensor&) {
    return absl::StatusOr<std::vector<Tensor>>(
        std::vector<Tensor>{Tensor({}, {1.0f})});  // a scalar: no batch dim
  });
  ASSERT_TRUE(h.Submit(3).ok());
  ASSERT_TRUE(h.Submit(4).ok());
  ASSERT_TRUE(h.results.Await(4));
  EXPECT_EQ(h.results.code(3), absl::StatusCode::kInternal);
  EXPECT_EQ(h.results.code(4), absl::StatusCode::kInternal);
}

TEST(BatchedModelTest, RejectsItemsWhoseShapeDiffersOrIsMalformed) {
  Harness h(Options(4, 1000));
  ASSERT_TRUE(h.Submit(1).ok());
  auto submit = [&](Tensor t) {
    return h.model->Submit(std::move(t), kNoDeadline, nullptr,
                           h.results.Callback(99));
  };
  EXPECT_EQ(submit(Tensor({1, 2, 3})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(submit(Tensor({1, 2, 2}, {1.0f})).code(),  // 1 value for 4
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      h.model->Submit(MakeItem(5), kNoDeadline, nullptr, BatchedModel::Done())
          .code(),
      absl::StatusCode::kInvalidArgument);

  // The first item ever fixes the shape, even after the queue drained.
  h.clock.Advance(absl::Microseconds(1000));
  ASSERT_TRUE(h.results.Await(1));
  EXPECT_EQ(submit(Tensor({2, 2})).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(h.results.calls(99), 0);
  EXPECT_EQ(h.model->queue_depth(), 0);
}

TEST(BatchedModelTest, RoutesEachResultToItsOwnProducerUnderConcurrency) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  Harness h(Options(8, 200, 100000, 2), /*real_clock=*/true);
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&h, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int id = t * kPerThread + i;
        absl::Status s = h.Submit(id);
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  for (std::thread& p : producers) p.join();
  ASSERT_TRUE(h.results.Await(kThreads * kPerThread));
  for (int id = 0; id < kThreads * kPerThread; ++id) {
    EXPECT_EQ(h.results.calls(id), 1);
    ExpectOutputsOf(h.results.Get(id), static_cast<float>(id));
  }
  const std::vector<int> sizes = h.runner->batch_sizes();
  EXPECT_THAT(sizes, Each(Le(8)));
  int sum = 0;
  for (int s : sizes) sum += s;
  EXPECT_EQ(sum, kThreads * kPerThread);
}

TEST(BatchedModelTest, WorkersRunBatchesConcurrently) {
  Harness h(Options(1, 0, 100, /*num_workers=*/2));
  h.runner->Block();
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.Submit(2).ok());
  EXPECT_TRUE(h.runner->AwaitBlocked(2));  // both inside Run() at once
  h.runner->Unblock();
  ASSERT_TRUE(h.results.Await(2));
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(1, 1));
}

// Two CPU models sharing one run slot (a 1-core machine): while the first
// computes, the second's items queue, and the second forms its batch only
// once it holds the slot, so it takes all of them in one forward pass.
TEST(BatchedModelTest, FormsTheBatchOnlyOnceItHoldsARunSlot) {
  CpuRunSlots slots(1);
  Harness first(Options(1, 0), /*real_clock=*/true, &slots);
  Harness second(Options(8, 0), /*real_clock=*/true, &slots);
  first.runner->Block();
  ASSERT_TRUE(first.Submit(1).ok());
  ASSERT_TRUE(first.runner->AwaitBlocked(1));  // computing, slot held
  EXPECT_EQ(slots.free(), 0);
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(second.Submit(i).ok());
  absl::SleepFor(absl::Milliseconds(20));  // time for a wrong early batch
  EXPECT_EQ(second.runner->num_calls(), 0);
  first.runner->Unblock();
  ASSERT_TRUE(first.results.Await(1));
  ASSERT_TRUE(second.results.Await(5));
  EXPECT_THAT(second.runner->batch_sizes(), ElementsAre(5));
  for (int i = 1; i <= 5; ++i) ExpectOutputsOf(second.results.Get(i), i);
  // Each forward pass ran with the slot held (none free), and no pass took a
  // second slot or leaked one.
  EXPECT_THAT(first.runner->slots_free_at_run(), ElementsAre(0));
  EXPECT_THAT(second.runner->slots_free_at_run(), ElementsAre(0));
  EXPECT_EQ(slots.free(), 1);
}

TEST(BatchedModelTest, ShutdownWhileWaitingForARunSlotFailsTheQueuedItems) {
  CpuRunSlots slots(1);
  Harness h(Options(8, 0, 100, /*num_workers=*/2), /*real_clock=*/true, &slots);
  auto busy = std::make_unique<CpuRunSlots::Hold>(&slots);  // another model's pass
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(h.Submit(i).ok());
  auto shutdown = std::async(std::launch::async, [&] { h.model->Shutdown(); });
  ASSERT_TRUE(h.results.Await(3));  // failed at once, slot or not
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(h.results.code(i), absl::StatusCode::kUnavailable);
  }
  busy.reset();  // the pass ends; the waiting workers wake and exit
  ASSERT_EQ(shutdown.wait_for(std::chrono::seconds(1)), std::future_status::ready);
  EXPECT_EQ(h.runner->num_calls(), 0);
  EXPECT_EQ(slots.free(), 1);
}

TEST(BatchedModelTest, RunSlotHoldIsReentrantOnItsThread) {
  CpuRunSlots slots(2);
  {
    CpuRunSlots::Hold outer(&slots);
    CpuRunSlots::Hold inner(&slots);  // same thread: takes no second slot
    EXPECT_EQ(slots.free(), 1);
    std::thread other([&] {
      CpuRunSlots::Hold theirs(&slots);  // another thread: takes its own
      EXPECT_EQ(slots.free(), 0);
    });
    other.join();
    EXPECT_EQ(slots.free(), 1);
  }
  EXPECT_EQ(slots.free(), 2);
  CpuRunSlots::Hold none(nullptr);  // no slots: a no-op
  EXPECT_EQ(slots.free(), 2);
}

TEST(BatchedModelTest, ShutdownFailsQueuedItemsAndFinishesTheBatchInFlight) {
  Harness h(Options(2, 1000, 100, 1));
  h.runner->Block();
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.Submit(2).ok());
  ASSERT_TRUE(h.runner->AwaitBlocked(1));  // items 1 and 2 are in flight
  for (int i = 3; i <= 5; ++i) ASSERT_TRUE(h.Submit(i).ok());

  const auto start = std::chrono::steady_clock::now();
  auto shutdown = std::async(std::launch::async, [&] { h.model->Shutdown(); });
  // The queued items fail at once, while the batch in flight still runs.
  ASSERT_TRUE(h.results.Await(3));
  for (int i = 3; i <= 5; ++i) {
    EXPECT_EQ(h.results.code(i), absl::StatusCode::kUnavailable);
  }
  EXPECT_EQ(h.results.calls(1), 0);
  EXPECT_EQ(shutdown.wait_for(std::chrono::milliseconds(20)),
            std::future_status::timeout);  // it joins the blocked worker

  h.runner->Unblock();
  ASSERT_EQ(shutdown.wait_for(std::chrono::seconds(1)),
            std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  ExpectOutputsOf(h.results.Get(1), 1.0f);
  ExpectOutputsOf(h.results.Get(2), 2.0f);
  EXPECT_EQ(h.observer.drops(DropReason::kShutdown), 3);
  EXPECT_EQ(h.observer.depths().back(), 0);
  EXPECT_EQ(h.model->queue_depth(), 0);
  EXPECT_THAT(h.runner->batch_sizes(), ElementsAre(2));
}

TEST(BatchedModelTest, ShutdownInterruptsATimedWaitPromptly) {
  Harness h(Options(8, /*max_queue_delay_us=*/60'000'000));  // fake: 60 s
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.clock.AwaitWaiters(1));
  RunWithin(absl::Seconds(1), "Shutdown", [&] { h.model->Shutdown(); });
  EXPECT_EQ(h.results.code(1), absl::StatusCode::kUnavailable);
  EXPECT_EQ(h.runner->num_calls(), 0);
}

TEST(BatchedModelTest, ShutdownInterruptsARealClockWaitPromptly) {
  Harness h(Options(8, /*max_queue_delay_us=*/60'000'000), /*real_clock=*/true);
  ASSERT_TRUE(h.Submit(1).ok());
  absl::SleepFor(absl::Milliseconds(5));  // let the worker start its wait
  RunWithin(absl::Seconds(1), "Shutdown", [&] { h.model->Shutdown(); });
  EXPECT_EQ(h.results.code(1), absl::StatusCode::kUnavailable);
}

TEST(BatchedModelTest, ShutdownInterruptsAnEmptyQueueWaitPromptly) {
  Harness h(Options(8, 1000, 100, /*num_workers=*/4), /*real_clock=*/true);
  absl::SleepFor(absl::Milliseconds(5));  // let the workers go to sleep
  RunWithin(absl::Seconds(1), "Shutdown", [&] { h.model->Shutdown(); });
}

TEST(BatchedModelTest,
     SubmitAfterShutdownIsUnavailableAndShutdownIsIdempotent) {
  Harness h(Options(4, 1000, 100, 2));
  std::thread other([&] { h.model->Shutdown(); });
  h.model->Shutdown();
  other.join();
  h.model->Shutdown();
  EXPECT_EQ(h.Submit(1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(h.results.calls(1), 0);
  EXPECT_EQ(h.model->queue_depth(), 0);
}

TEST(BatchedModelTest, DestructorFailsQueuedItemsWithUnavailable) {
  Harness h(Options(4, 1000));
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.Submit(2).ok());
  h.model.reset();
  EXPECT_EQ(h.results.code(1), absl::StatusCode::kUnavailable);
  EXPECT_EQ(h.results.code(2), absl::StatusCode::kUnavailable);
}

TEST(BatchedModelTest, ObserverSeesBatchSizesWaitsDropsAndDepth) {
  Harness h(Options(2, 1000, /*max_queue_size=*/3));
  ASSERT_TRUE(h.Submit(1).ok());
  ASSERT_TRUE(h.Submit(2).ok());  // full batch: runs at once, waits 0
  ASSERT_TRUE(h.results.Await(2));
  ASSERT_TRUE(h.Submit(3).ok());
  ASSERT_TRUE(h.clock.AwaitWaiters(1));
  h.clock.Advance(absl::Microseconds(1000));
  ASSERT_TRUE(h.results.Await(3));

  // Three queued behind a blocked batch, the fourth rejected.
  h.runner->Block();
  ASSERT_TRUE(h.Submit(4).ok());
  ASSERT_TRUE(h.Submit(5).ok());
  ASSERT_TRUE(h.runner->AwaitBlocked(1));
  ASSERT_TRUE(h.Submit(6, h.clock.Now()).ok());  // expires before compute
  ASSERT_TRUE(h.Submit(7, kNoDeadline, [] { return true; }).ok());
  ASSERT_TRUE(h.Submit(8).ok());
  EXPECT_EQ(h.Submit(9).code(), absl::StatusCode::kResourceExhausted);
  h.runner->Unblock();
  // 4 and 5 computed; 6 and 7 dropped (their batch never reaches the model);
  // 8 waits for the delay.
  ASSERT_TRUE(h.results.Await(7));
  ASSERT_TRUE(h.clock.AwaitWaiters(1));
  h.clock.Advance(absl::Microseconds(1000));
  ASSERT_TRUE(h.results.Await(8));

  h.model->Shutdown();  // all observer calls happened-before this returns
  EXPECT_THAT(h.observer.batch_sizes(), ElementsAre(2, 1, 2, 1));
  const auto waits = h.observer.waits();
  ASSERT_EQ(waits.size(), 4u);
  EXPECT_THAT(waits[0],
              ElementsAre(absl::ZeroDuration(), absl::ZeroDuration()));
  EXPECT_THAT(waits[1], ElementsAre(absl::Microseconds(1000)));
  EXPECT_THAT(waits[2],
              ElementsAre(absl::ZeroDuration(), absl::ZeroDuration()));
  EXPECT_THAT(waits[3], ElementsAre(absl::Microseconds(1000)));
  EXPECT_THAT(h.observer.executions(), Each(absl::ZeroDuration()));
  EXPECT_EQ(h.observer.drops(DropReason::kDeadline), 1);
  EXPECT_EQ(h.observer.drops(DropReason::kCancelled), 1);
  EXPECT_EQ(h.observer.drops(DropReason::kQueueFull), 1);
  EXPECT_EQ(h.observer.drops(DropReason::kShutdown), 0);
  EXPECT_EQ(h.observer.depths().back(), 0);
  EXPECT_THAT(h.observer.depths(), Each(Le(3)));
}

// Hunts lost wake-ups and double/missing `done` calls: many short runs with
// tiny real delays, several producers, and sometimes a concurrent Shutdown.
// Every accepted item must hear back exactly once; nothing may hang.
TEST(BatchedModelTest, RaceLoopEveryDoneCalledExactlyOnceAndNothingHangs) {
  constexpr int kIterations = 200;
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20;
  constexpr int kItems = kProducers * kPerProducer;
  for (int iter = 0; iter < kIterations; ++iter) {
    SCOPED_TRACE(iter);
    const BatchingOptions options = Options(
        /*max_batch_size=*/1 + iter % 4, /*max_queue_delay_us=*/iter % 3,
        /*max_queue_size=*/1000, /*num_workers=*/1 + iter % 2);
    const bool shutdown_midway = iter % 4 == 3;
    auto runner = std::make_shared<FakeModelRunner>();
    auto created = BatchedModel::Create("race", runner, options);
    ASSERT_TRUE(created.ok());
    std::unique_ptr<BatchedModel> model = *std::move(created);

    std::vector<std::atomic<int>> done_calls(kItems);
    std::vector<std::atomic<bool>> accepted(kItems);
    std::atomic<int> bad_results{0};
    absl::Mutex mu;
    int finished = 0;  // guarded by mu

    RunWithin(absl::Seconds(10), "race iteration", [&] {
      std::vector<std::thread> threads;
      for (int p = 0; p < kProducers; ++p) {
        threads.emplace_back([&, p] {
          for (int i = 0; i < kPerProducer; ++i) {
            const int id = p * kPerProducer + i;
            absl::Status s = model->Submit(
                MakeItem(static_cast<float>(id)), kNoDeadline, nullptr,
                [&, id](absl::StatusOr<std::vector<Tensor>> r) {
                  const bool good = r.ok() ? (*r)[0].data[0] == 2.0f * id
                                           : r.status().code() ==
                                                 absl::StatusCode::kUnavailable;
                  if (!good) ++bad_results;
                  ++done_calls[id];
                  absl::MutexLock lock(&mu);
                  ++finished;
                });
            accepted[id] = s.ok();
            if (!s.ok() && s.code() != absl::StatusCode::kUnavailable) {
              ++bad_results;
            }
          }
        });
      }
      if (shutdown_midway) threads.emplace_back([&] { model->Shutdown(); });
      for (std::thread& t : threads) t.join();
      int n_accepted = 0;
      for (const auto& a : accepted) n_accepted += a.load() ? 1 : 0;
      {
        std::pair<int*, int> arg(&finished, n_accepted);
        absl::MutexLock lock(&mu);
        mu.Await(absl::Condition(
            +[](std::pair<int*, int>* a) { return *a->first >= a->second; },
            &arg));
      }
      model->Shutdown();
    });
    EXPECT_EQ(bad_results.load(), 0);
    for (int id = 0; id < kItems; ++id) {
      ASSERT_EQ(done_calls[id].load(), accepted[id].load() ? 1 : 0)
          << "item " << id;
    }
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace faceserve
