#include "core/gallery/search_batcher.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/error_reason.h"
#include "core/thread_name.h"

namespace faceserve {

SearchBatcher::SearchBatcher(SearchBatchingOptions options, SearchPassObserver observer)
    : options_(options), observer_(std::move(observer)) {
  worker_ = std::thread([this] {
    NameThisThread("gallery-search");
    Loop();
  });
}

SearchBatcher::~SearchBatcher() {
  std::deque<Pending> left;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  worker_.join();
  {
    absl::MutexLock lock(&mu_);
    left.swap(queue_);
  }
  for (Pending& p : left) {
    p.done(WithReason(absl::UnavailableError("server is shutting down"),
                      ErrorReason::kShuttingDown));
  }
}

void SearchBatcher::Submit(std::shared_ptr<const GalleryIndex> index,
                           std::vector<std::vector<float>> queries, int top_k, Done done) {
  const int n = static_cast<int>(queries.size());
  bool stopping = false;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
    if (!stopping && pending_queries_ + n <= options_.max_pending) {
      pending_queries_ += n;
      queue_.push_back(
          Pending{std::move(index), std::move(queries), top_k, std::move(done), absl::Now()});
      return;
    }
  }
  // Refused: answered here, outside the lock.
  if (stopping) {
    return done(
        WithReason(absl::UnavailableError("server is shutting down"), ErrorReason::kShuttingDown));
  }
  done(WithReason(absl::ResourceExhaustedError(absl::StrCat(
                      "gallery search queue is full (", options_.max_pending,
                      " queries waiting); retry with backoff")),
                  ErrorReason::kQueueFull));
}

void SearchBatcher::Loop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](SearchBatcher* b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return b->stopping_ || !b->queue_.empty();
          },
          this));
      if (stopping_) return;
      // Wait out the window of the oldest search, unless enough have come.
      const absl::Time until = queue_.front().arrived + options_.window;
      mu_.AwaitWithDeadline(absl::Condition(
                                +[](SearchBatcher* b) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                  return b->stopping_ ||
                                         b->pending_queries_ >= b->options_.max_queries;
                                },
                                this),
                            until);
      if (stopping_) return;
      int taken = 0;
      while (!queue_.empty() &&
             (batch.empty() || taken + static_cast<int>(queue_.front().queries.size()) <=
                                   options_.max_queries)) {
        taken += static_cast<int>(queue_.front().queries.size());
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      pending_queries_ -= taken;
    }
    RunPass(std::move(batch));
  }
}

void SearchBatcher::RunPass(std::vector<Pending> batch) {
  // Group by gallery: one Search per index, over every query for it.
  std::map<const GalleryIndex*, std::vector<size_t>> by_index;
  for (size_t i = 0; i < batch.size(); ++i) by_index[batch[i].index.get()].push_back(i);
  for (const auto& [index, members] : by_index) {
    std::vector<std::vector<float>> queries;
    int top_k = 1;
    for (size_t m : members) {
      for (std::vector<float>& q : batch[m].queries) queries.push_back(std::move(q));
      top_k = std::max(top_k, batch[m].top_k);
    }
    // Callers check their queries (Galleries::Search), so a failure here is
    // the index's own and every member shares it.
    const absl::Time start = absl::Now();
    absl::StatusOr<Matches> all = index->Search(queries, top_k);
    // Observed before anyone is answered: a caller that has its answer
    // sees its pass counted.
    if (observer_ != nullptr) observer_(static_cast<int>(queries.size()), absl::Now() - start);
    size_t next = 0;
    for (size_t m : members) {
      const size_t n = batch[m].queries.size();  // the vectors moved, not the list
      if (!all.ok()) {
        batch[m].done(all.status());
        next += n;
        continue;
      }
      Matches mine(std::make_move_iterator(all->begin() + static_cast<long>(next)),
                   std::make_move_iterator(all->begin() + static_cast<long>(next + n)));
      for (auto& matches : mine) {
        if (static_cast<int>(matches.size()) > batch[m].top_k) matches.resize(batch[m].top_k);
      }
      next += n;
      batch[m].done(std::move(mine));
    }
  }
}

}  // namespace faceserve
