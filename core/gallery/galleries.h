// Galleries: the server's galleries, durable in a GalleryStore and in memory
// for search. What the gallery RPCs call. Each gallery is searched
//   - exactly (GalleryIndex), the searches of concurrent requests batched
//     into one pass over the gallery (SearchBatcher), or
//   - approximately (HnswIndex, issue 28), each search at once on a small
//     pool of threads, for galleries of IndexKind kApproximate, or kAuto
//     ones of at least `approximate_from_faces` faces. An auto gallery that
//     grows past it is rebuilt as a graph in the background; searches use
//     the exact index until the graph has caught up.
//
// Open() loads every gallery into memory (before the server reports
// SERVING): an approximate one from its newest snapshot (IndexSnapshots)
// plus the store's changes since, or built from the store when there is
// none. Every write goes to the store first (durable when it returns) and
// then to the index, under one writer lock, so the index never holds a face
// the store lost or misses one it kept; a change is visible to the next
// search. Searches take no writer lock.
//
// A shared store (PostgreSQL, issue 33) is written by other replicas too: a
// follower thread reads its log after each NOTIFY (and every `poll` in any
// case) and applies the other replicas' changes, galleries created and
// deleted included, from the last change it applied, so none is missed
// when a notification is. While the store cannot be read, searches go on
// from memory and follow_state() says how long it has been. A replica that
// fell behind the log's retention reloads every gallery.
//
// A maintenance thread saves approximate galleries' snapshots every
// `snapshot_interval` when they changed (holding the writer lock: enrolls
// wait for the save, searches do not), compacts the change log, and
// rebuilds a graph in which erased faces hold over a fifth of the slots.
//
// Thread-safety: every method may be called concurrently.
#ifndef FACESERVE_CORE_GALLERY_GALLERIES_H_
#define FACESERVE_CORE_GALLERY_GALLERIES_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/gallery/gallery_index.h"
#include "core/gallery/gallery_store.h"
#include "core/gallery/hnsw_index.h"
#include "core/gallery/index_snapshots.h"
#include "core/gallery/search_batcher.h"
#include "core/pipeline/thread_pool.h"

namespace faceserve {

// Following a shared store's log (gallery.postgres.*).
struct FollowState {
  bool shared = false;       // the store is shared: the rest means something
  bool in_step = true;       // the last pass read the log
  absl::Time last_in_step;   // when a pass last read it
  int64_t change = 0;        // the last change applied
  std::string error;         // why the last pass failed
};

struct FollowOptions {
  // The longest wait for a NOTIFY before reading the log anyway.
  absl::Duration poll = absl::Seconds(1);
  // Changes stay in the log this long, for replicas that were away.
  absl::Duration change_retention = absl::Hours(24);
  absl::Duration compact_every = absl::Minutes(10);
  // After each pass, on the follower thread.
  std::function<void(const FollowState&)> on_pass;
};

// gallery.index.* (docs/configuration.md).
struct IndexingOptions {
  int64_t approximate_from_faces = 20000;  // kAuto galleries: HNSW from here
  HnswOptions hnsw;
  int search_threads = 2;      // the approximate searches' pool
  int build_threads = 2;       // threads linking a new graph
  std::string snapshot_dir;    // "" = no snapshots: graphs are rebuilt at start
  absl::Duration snapshot_interval = absl::Seconds(60);
  // Where loads, builds and snapshots are reported (one line each).
  std::function<void(const std::string&)> log;
  FollowOptions follow;  // a shared store's
};

// What a search needs to know about a gallery, from memory.
struct GalleryBinding {
  DescriptorModel model;
  float threshold = 0;
};

class Galleries {
 public:
  // Loads every gallery of `store` into memory. STORAGE_ERROR on a read
  // failure.
  static absl::StatusOr<std::unique_ptr<Galleries>> Open(std::unique_ptr<GalleryStore> store,
                                                         SearchBatchingOptions search,
                                                         IndexingOptions indexing = {},
                                                         SearchPassObserver observer = nullptr);
  // Stops the maintenance thread and saves what changed since the last
  // snapshots.
  ~Galleries();

  absl::StatusOr<GalleryInfo> Create(const std::string& name, const DescriptorModel& model,
                                     float threshold, IndexKind index = IndexKind::kAuto);
  absl::Status Delete(const std::string& name);
  // From the store, with `approximate` from memory.
  absl::StatusOr<std::vector<GalleryInfo>> List();
  // From memory: GALLERY_NOT_FOUND when there is none. With a shared store,
  // a gallery not in memory is looked up in the store first (made through
  // another replica a moment ago, before the follower loaded it).
  absl::StatusOr<GalleryBinding> Binding(const std::string& name);

  // GalleryStore::AddFaces, then the index.
  absl::StatusOr<std::vector<int64_t>> AddFaces(const std::string& gallery,
                                                const std::string& subject,
                                                const Metadata& metadata,
                                                const DescriptorModel& model,
                                                const std::vector<std::vector<float>>& embeddings,
                                                const EnrollReceipt* receipt);
  absl::StatusOr<std::optional<std::string>> FindReceipt(const std::string& gallery,
                                                         const std::string& key,
                                                         const std::string& request_hash) {
    return store_->FindReceipt(gallery, key, request_hash);
  }
  absl::StatusOr<SubjectInfo> GetSubject(const std::string& gallery, const std::string& subject,
                                         bool with_embeddings) {
    return store_->GetSubject(gallery, subject, with_embeddings);
  }
  absl::StatusOr<SubjectPage> ListSubjects(const std::string& gallery,
                                           const std::string& page_token, int page_size) {
    return store_->ListSubjects(gallery, page_token, page_size);
  }
  absl::Status UpdateMetadata(const std::string& gallery, const std::string& subject,
                              const Metadata& metadata) {
    return store_->UpdateMetadata(gallery, subject, metadata);
  }
  absl::Status DeleteFace(const std::string& gallery, int64_t face_id);
  absl::Status DeleteSubject(const std::string& gallery, const std::string& subject);

  // Searches `gallery` for each of `queries` (embeddings of `model_id`):
  // `done` gets each one's top_k distinct subjects, on the batcher's thread.
  // GALLERY_NOT_FOUND, DESCRIPTOR_MISMATCH (naming both models) and
  // EMBEDDING_SIZE_MISMATCH / INVALID_FIELD (field "queries.i") for a query
  // of the wrong length, not finite or zero are reported through `done`
  // before anything is queued.
  void Search(const std::string& gallery, const std::string& model_id,
              std::vector<std::vector<float>> queries, int top_k, SearchBatcher::Done done);

  // Faces per gallery, from memory (for the metrics).
  std::map<std::string, int64_t> FaceCounts() const;
  // One gallery's; nullopt when there is none.
  std::optional<int64_t> FaceCount(const std::string& gallery) const;
  // Whether `gallery` is searched approximately now; nullopt when none.
  std::optional<bool> Approximate(const std::string& gallery) const;

  // Saves a snapshot of every approximate gallery that changed since its
  // last one (what the maintenance thread does every snapshot_interval).
  absl::Status SaveSnapshots();

  // A shared store: applies the changes other replicas committed since the
  // last pass (what the follower thread does after each wake-up).
  absl::Status FollowStore();
  FollowState follow_state() const;

 private:
  struct Loaded {
    GalleryBinding binding;
    IndexKind kind = IndexKind::kAuto;
    int64_t created_ms = 0;
    // Exactly one of the two.
    std::shared_ptr<GalleryIndex> exact;
    std::shared_ptr<HnswIndex> approximate;
    int64_t saved_change = -1;  // what its newest snapshot covers
    bool building = false;      // a graph is being built for it

    int64_t size() const { return exact ? exact->size() : approximate->size(); }
  };

  Galleries(std::unique_ptr<GalleryStore> store, SearchBatchingOptions search,
            IndexingOptions indexing, SearchPassObserver observer);
  absl::StatusOr<Loaded> LoadGallery(const GalleryInfo& info);
  absl::StatusOr<std::shared_ptr<HnswIndex>> LoadApproximate(const GalleryInfo& info,
                                                             int64_t* saved_change);
  absl::StatusOr<std::shared_ptr<HnswIndex>> BuildApproximate(const std::string& gallery,
                                                              int dimension);
  // Brings `index` up to date with the store's changes after its own.
  absl::Status CatchUp(const std::string& gallery, HnswIndex& index);
  // One logged change applied to a graph, idempotently (CatchUp and the
  // follower both replay).
  static absl::Status ReplayOnGraph(HnswIndex& index, FaceChange& change);
  absl::StatusOr<Loaded*> Find(const std::string& gallery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The gallery's indexes (one of them null) and the store's last change,
  // after a store write; nullopt when the gallery is gone.
  struct Indexes {
    std::shared_ptr<GalleryIndex> exact;
    std::shared_ptr<HnswIndex> approximate;
    int64_t change = 0;
  };
  std::optional<Indexes> IndexesAfterWrite(const std::string& gallery)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status SaveSnapshot(const std::string& gallery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The maintenance thread's work: snapshots, log compaction, (re)builds.
  void Maintain();
  // The follower thread's loop, and what a pass applies.
  void Follow();
  absl::Status ApplyStoreChange(StoreChange& change) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Loads, reloads or drops `gallery` as the store has it now.
  absl::Status SyncGallery(const std::string& gallery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Every gallery again, when the log no longer holds what was missed.
  absl::Status ReloadAll() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // An auto gallery's exact index grown to `size`: marks it for a graph.
  void BuildGraphIfGrown(const std::string& gallery, int64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Stopping, or a graph to build.
  bool MaintenanceDue() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Builds the graph of a gallery marked `building` and swaps it in.
  void BuildAndSwap(const std::string& gallery);
  void Log(const std::string& line) const {
    if (indexing_.log) indexing_.log(line);
  }

  const std::unique_ptr<GalleryStore> store_;
  const IndexingOptions indexing_;
  const IndexSnapshots snapshots_;
  // Serialises writes: store then index, as one step.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<std::string, Loaded> loaded_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // A shared store: the last change of its log applied here. Own writes
  // are applied at once and again when the log reaches them (idempotent).
  int64_t followed_ ABSL_GUARDED_BY(write_mu_) = 0;
  mutable absl::Mutex follow_mu_;
  FollowState follow_state_ ABSL_GUARDED_BY(follow_mu_);
  std::atomic<int> approximate_pending_{0};  // queries queued on search_pool_
  const SearchBatchingOptions search_;
  const SearchPassObserver observer_;
  SearchBatcher batcher_;
  ThreadPool search_pool_;
  std::thread maintenance_;  // last: stop before the rest goes
  std::thread follower_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_GALLERIES_H_
