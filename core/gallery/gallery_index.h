// GalleryIndex: one gallery's faces in memory for exact 1:N search (issue
// 27): the unit-length embeddings in one row-major matrix, searched by
// cosine similarity (a dot product) for several queries in one pass over
// the matrix, so that the searches of concurrent requests cost one read of
// the gallery, not one each. A subject's score is its best face's.
//
// Thread-safety: searches share a reader lock; Add and Remove take it
// exclusively, so a search sees a gallery before or after a change, never
// half of one, and a change is visible to the next search.
#ifndef FACESERVE_CORE_GALLERY_GALLERY_INDEX_H_
#define FACESERVE_CORE_GALLERY_GALLERY_INDEX_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace faceserve {

// One subject found for a query.
struct SubjectMatch {
  std::string subject;
  int64_t face_id = 0;   // the subject's face that scored best
  float similarity = 0;  // cosine similarity of that face with the query
};

// `v` scaled to unit length; false (and `v` unchanged) for a zero or
// non-finite vector. Both indexes store and search unit vectors.
bool NormalizeEmbedding(std::vector<float>* v);

class GalleryIndex {
 public:
  // Embeddings of `dimension` values.
  explicit GalleryIndex(int dimension) : dimension_(dimension) {}

  int dimension() const { return dimension_; }
  int64_t size() const {
    absl::ReaderMutexLock lock(&mu_);
    return static_cast<int64_t>(face_ids_.size());
  }

  // Adds a face (its embedding is normalised to unit length here).
  // INVALID_ARGUMENT for a wrong length or a zero vector; ALREADY_EXISTS for
  // a face id already present.
  absl::Status Add(int64_t face_id, const std::string& subject, std::vector<float> embedding);
  // Removes a face; false when it was not there.
  bool RemoveFace(int64_t face_id);
  // Removes every face of `subject`; how many there were.
  int RemoveSubject(const std::string& subject);

  // For each query (normalised here), the `top_k` best distinct subjects,
  // best first (ties: the lower face id first). A query of the wrong length
  // or zero length is INVALID_ARGUMENT for the whole call.
  absl::StatusOr<std::vector<std::vector<SubjectMatch>>> Search(
      const std::vector<std::vector<float>>& queries, int top_k) const;

 private:
  const int dimension_;
  mutable absl::Mutex mu_;
  // Row r of matrix_ (dimension_ floats) is face face_ids_[r] of subject
  // subject_of_[r]; rows are kept dense (a removal moves the last row in).
  std::vector<float> matrix_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> face_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<int32_t> subject_of_ ABSL_GUARDED_BY(mu_);  // index into subjects_
  std::unordered_map<int64_t, size_t> row_of_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> subjects_ ABSL_GUARDED_BY(mu_);  // interned names
  std::unordered_map<std::string, int32_t> subject_index_ ABSL_GUARDED_BY(mu_);

  void RemoveRow(size_t row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_GALLERY_INDEX_H_
