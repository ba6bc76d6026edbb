// Galleries: the server's galleries, durable in a GalleryStore and in memory
// for exact search (one GalleryIndex each), with the searches of concurrent
// requests batched (SearchBatcher). What the gallery RPCs call.
//
// Open() loads every gallery into memory (before the server reports
// SERVING). Every write goes to the store first (durable when it returns)
// and then to the index, under one writer lock, so the index never holds a
// face the store lost or misses one it kept; a change is visible to the next
// search. Searches take no writer lock.
//
// Thread-safety: every method may be called concurrently.
#ifndef FACESERVE_CORE_GALLERY_GALLERIES_H_
#define FACESERVE_CORE_GALLERY_GALLERIES_H_

#include <cstdint>
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
#include "core/gallery/search_batcher.h"

namespace faceserve {

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
                                                         SearchPassObserver observer = nullptr);

  absl::StatusOr<GalleryInfo> Create(const std::string& name, const DescriptorModel& model,
                                     float threshold);
  absl::Status Delete(const std::string& name);
  absl::StatusOr<std::vector<GalleryInfo>> List() { return store_->ListGalleries(); }
  // From memory: GALLERY_NOT_FOUND when there is none.
  absl::StatusOr<GalleryBinding> Binding(const std::string& name) const;

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

 private:
  struct Loaded {
    GalleryBinding binding;
    std::shared_ptr<GalleryIndex> index;
  };

  Galleries(std::unique_ptr<GalleryStore> store, SearchBatchingOptions search,
            SearchPassObserver observer);
  absl::StatusOr<std::shared_ptr<GalleryIndex>> IndexOf(const std::string& gallery) const;

  const std::unique_ptr<GalleryStore> store_;
  // Serialises writes: store then index, as one step.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<std::string, Loaded> loaded_ ABSL_GUARDED_BY(mu_);
  SearchBatcher batcher_;  // last: its thread stops before the rest goes
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_GALLERIES_H_
