// HnswIndex: one gallery's faces in an approximate nearest-neighbour graph
// (HNSW, Debian's libhnswlib; issue 28), for galleries too large for the
// exact matrix product of GalleryIndex: a query walks the graph instead of
// reading every face. Similarity is the dot product of unit vectors, as in
// GalleryIndex, so scores and thresholds mean the same in both (to within
// 0.001: the graph keeps its vectors in half precision, see HnswOptions).
//
// A query asks the graph for its `ef_search` nearest faces (at least 8 per
// subject wanted) and keeps each subject's best face: the top_k distinct
// subjects, best first.
//
// Deletion erases: hnswlib only marks a deleted face, so its vector is
// overwritten with zeros here, in memory and in the snapshot file it was
// saved in (SnapshotFile), not only hidden from results.
//
// Every change carries the gallery store's change sequence (GalleryStore::
// ChangesSince); `applied_change()` is the last one applied, what a snapshot
// of the index covers.
//
// Thread-safety: searches share a reader lock; changes take it exclusively.
// Save() reads under the shared lock, so searches go on while it writes.
#ifndef FACESERVE_CORE_GALLERY_HNSW_INDEX_H_
#define FACESERVE_CORE_GALLERY_HNSW_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/gallery/gallery_index.h"

namespace faceserve {

// The graph's parameters (hnswlib's names). Defaults and how they were
// chosen: docs/configuration.md, gallery.index.hnsw.
struct HnswOptions {
  int m = 32;                 // links per face (twice that on the bottom layer)
  int ef_construction = 200;  // candidates considered while linking a new face
  int ef_search = 112;        // candidates a query keeps while walking
  // Vectors stored as halves (half_float.h): half the memory reads of a
  // walk, similarities within 0.001 of exact (1e-4 typically).
  bool half_precision = true;
};

// One face for Build().
struct IndexedFace {
  int64_t face_id = 0;
  std::string subject;
  std::vector<float> embedding;
};

class HnswIndex {
 public:
  ~HnswIndex();
  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  // A new index of `faces` (normalised here), covering change
  // `applied_change`; links them on `threads` threads. INVALID_ARGUMENT for a
  // face of the wrong length or zero.
  static absl::StatusOr<std::unique_ptr<HnswIndex>> Build(int dimension, HnswOptions options,
                                                          std::vector<IndexedFace> faces,
                                                          int64_t applied_change, int threads);
  // The index saved at `path` (hnswlib's format), covering `applied_change`,
  // with each face's subject from `subject_of`. A face `subject_of` lacks
  // (deleted after the snapshot) gets none until its deletion is replayed:
  // see without_subject(). DATA_LOSS when the file is unreadable or of
  // another dimension.
  static absl::StatusOr<std::unique_ptr<HnswIndex>> Load(
      const std::string& path, int dimension, HnswOptions options,
      const absl::flat_hash_map<int64_t, std::string>& subject_of, int64_t applied_change);

  int dimension() const { return dimension_; }
  int64_t size() const;     // live faces
  int64_t deleted() const;  // erased faces still holding a slot in the graph
  // Live faces Load() found no subject for: 0 once caught up with the store.
  int64_t without_subject() const;
  int64_t applied_change() const;

  // Adds a face as change `change`. INVALID_ARGUMENT for a wrong length or a
  // zero vector; ALREADY_EXISTS for a live face id (the change still counts
  // as applied: catching up meets faces the index was built with).
  absl::Status Add(int64_t face_id, const std::string& subject, std::vector<float> embedding,
                   int64_t change);
  // Removes (erases) a face as change `change`; false when it was not there.
  bool RemoveFace(int64_t face_id, int64_t change);
  // Records a change that needs nothing done here (a face added and deleted
  // since, met while catching up).
  void NoteChange(int64_t change);
  // Live face ids (ascending), for checks against the store.
  std::vector<int64_t> FaceIds() const;

  // As GalleryIndex::Search: for each query, the top_k best distinct
  // subjects. `ef_search` > 0 overrides the options' (for benchmarks).
  absl::StatusOr<std::vector<std::vector<SubjectMatch>>> Search(
      const std::vector<std::vector<float>>& queries, int top_k, int ef_search = 0) const;

  // Writes the index to `path` (hnswlib's format; the caller renames it into
  // place) and fsyncs it; returns the change it covers. From then on, a
  // removal also zeroes the face's vector in the file at `path` (call
  // SnapshotMoved when the caller renames it). INTERNAL on an I/O error.
  absl::StatusOr<int64_t> Save(const std::string& path);
  // The file last written by Save() now lives at `path` ("" when it is gone).
  void SnapshotMoved(const std::string& path);

 private:
  class Graph;  // hnswlib's index, its space and the face -> subject table
  HnswIndex(int dimension, HnswOptions options, std::unique_ptr<Graph> graph,
            int64_t applied_change);
  // Zeroes the vector of `slot` in the snapshot file, when it is in there.
  absl::Status EraseFromSnapshot(uint32_t slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int dimension_;
  const HnswOptions options_;
  mutable absl::Mutex mu_;
  std::unique_ptr<Graph> graph_ ABSL_GUARDED_BY(mu_);
  int64_t applied_change_ ABSL_GUARDED_BY(mu_);
  // The last snapshot: its path and how many slots it holds (later slots
  // are not in it).
  absl::Mutex snapshot_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::string snapshot_path_ ABSL_GUARDED_BY(snapshot_mu_);
  uint64_t snapshot_slots_ ABSL_GUARDED_BY(snapshot_mu_) = 0;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_HNSW_INDEX_H_
