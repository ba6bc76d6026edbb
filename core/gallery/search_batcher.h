// SearchBatcher: the searches of concurrent requests in one pass over a
// gallery (issue 27). Identify calls that arrive together are answered by
// one matrix product per gallery instead of one read of the gallery each.
//
// One worker thread. A pass starts when `window` has passed since the oldest
// waiting search arrived, or at once when `max_queries` are waiting; while a
// pass runs, new searches gather for the next. The window is short (the
// models' batchers wait milliseconds; a search costs a few), so a lone
// search is not held back noticeably.
//
// Bounded: over `max_pending` waiting queries, Submit fails at once with
// RESOURCE_EXHAUSTED / QUEUE_FULL.
//
// Thread-safety: Submit may be called from any thread. `done` runs on the
// worker thread (or on the caller's, for an error at Submit), exactly once;
// it must not block.
#ifndef FACESERVE_CORE_GALLERY_SEARCH_BATCHER_H_
#define FACESERVE_CORE_GALLERY_SEARCH_BATCHER_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/gallery/gallery_index.h"

namespace faceserve {

struct SearchBatchingOptions {
  absl::Duration window = absl::Microseconds(500);
  int max_queries = 256;    // queries in one pass
  int max_pending = 4096;   // queries waiting, beyond which Submit refuses
};

// One pass over one gallery, for metrics: how many queries it answered and
// how long it took; called before the answers go out.
using SearchPassObserver = std::function<void(int queries, absl::Duration elapsed)>;

class SearchBatcher {
 public:
  using Matches = std::vector<std::vector<SubjectMatch>>;  // per query
  using Done = std::function<void(absl::StatusOr<Matches>)>;

  explicit SearchBatcher(SearchBatchingOptions options, SearchPassObserver observer = nullptr);
  // Answers what is still waiting with UNAVAILABLE / SHUTTING_DOWN.
  ~SearchBatcher();
  SearchBatcher(const SearchBatcher&) = delete;
  SearchBatcher& operator=(const SearchBatcher&) = delete;

  // Queues `queries` against `index` (kept alive until answered); `done`
  // gets each query's top `top_k` subjects.
  void Submit(std::shared_ptr<const GalleryIndex> index, std::vector<std::vector<float>> queries,
              int top_k, Done done);

 private:
  struct Pending {
    std::shared_ptr<const GalleryIndex> index;
    std::vector<std::vector<float>> queries;
    int top_k = 1;
    Done done;
    absl::Time arrived;
  };

  void Loop();
  // Answers `batch`: one Search per gallery over all its queries.
  void RunPass(std::vector<Pending> batch);

  const SearchBatchingOptions options_;
  const SearchPassObserver observer_;
  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  int pending_queries_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_SEARCH_BATCHER_H_
