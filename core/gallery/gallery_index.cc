#include "core/gallery/gallery_index.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace faceserve {
namespace {

// The dot product with eight partial sums: the compiler turns the inner loop
// into SIMD without -ffast-math (a single running sum would have to stay in
// order). 8x the plain loop's speed on this CPU (bench/gallery_search).
float Dot(const float* a, const float* b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int d = 0;
  for (; d + 8 <= n; d += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[d + j] * b[d + j];
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; d < n; ++d) sum += a[d] * b[d];
  return sum;
}

// Rows scored per block: the block's scores (kBlockRows x queries) stay in
// cache while each row's subject is updated.
constexpr size_t kBlockRows = 2048;

// scores[r * nq + i] = dot(rows[r], queries[i]), the portable way.
void ScoreBlockPortable(const float* rows, size_t n_rows, const float* queries, size_t nq,
                        int dim, float* scores) {
  for (size_t r = 0; r < n_rows; ++r) {
    for (size_t i = 0; i < nq; ++i) {
      scores[r * nq + i] = Dot(rows + r * dim, queries + i * dim, dim);
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The same with AVX2 and FMA (dim a multiple of 16): each row is loaded once
// for four queries at a time, so a pass costs what reading the gallery
// costs rather than four times its arithmetic. Chosen at run time on CPUs
// that have it (the build targets plain x86-64).
__attribute__((target("avx2,fma"))) void ScoreBlockAvx2(const float* rows, size_t n_rows,
                                                        const float* queries, size_t nq, int dim,
                                                        float* scores) {
  for (size_t r = 0; r < n_rows; ++r) {
    const float* row = rows + r * dim;
    size_t i = 0;
    for (; i + 4 <= nq; i += 4) {
      const float* q0 = queries + i * dim;
      const float *q1 = q0 + dim, *q2 = q1 + dim, *q3 = q2 + dim;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
             a3 = _mm256_setzero_ps();
      for (int d = 0; d < dim; d += 8) {
        const __m256 x = _mm256_loadu_ps(row + d);
        a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(q0 + d), a0);
        a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(q1 + d), a1);
        a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(q2 + d), a2);
        a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(q3 + d), a3);
      }
      float* out = scores + r * nq + i;
      out[0] = HorizontalSum(a0);
      out[1] = HorizontalSum(a1);
      out[2] = HorizontalSum(a2);
      out[3] = HorizontalSum(a3);
    }
    for (; i < nq; ++i) {  // the last one to three: two chains for the FMA latency
      const float* q = queries + i * dim;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      for (int d = 0; d < dim; d += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + d), _mm256_loadu_ps(q + d), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + d + 8), _mm256_loadu_ps(q + d + 8), a1);
      }
      scores[r * nq + i] = HorizontalSum(_mm256_add_ps(a0, a1));
    }
  }
}

bool HasAvx2Fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#endif

void ScoreBlock(const float* rows, size_t n_rows, const float* queries, size_t nq, int dim,
                float* scores) {
#if defined(__x86_64__)
  if (dim % 16 == 0 && HasAvx2Fma()) {
    return ScoreBlockAvx2(rows, n_rows, queries, nq, dim, scores);
  }
#endif
  ScoreBlockPortable(rows, n_rows, queries, nq, dim, scores);
}

absl::Status BadVector(const std::string& what, size_t index, const std::string& why) {
  return WithReason(absl::InvalidArgumentError(absl::StrCat(what, " ", index, ": ", why)),
                    ErrorReason::kInvalidField, {{"field", absl::StrCat(what, "s.", index)}});
}

}  // namespace

bool NormalizeEmbedding(std::vector<float>* v) {
  double norm = 0;
  for (float x : *v) norm += static_cast<double>(x) * x;
  if (!(norm > 0) || !std::isfinite(norm)) return false;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : *v) x *= inv;
  return true;
}

absl::Status GalleryIndex::Add(int64_t face_id, const std::string& subject,
                               std::vector<float> embedding) {
  if (static_cast<int>(embedding.size()) != dimension_) {
    return BadVector("embedding", 0,
                     absl::StrCat(embedding.size(), " values, the gallery holds ", dimension_));
  }
  if (!NormalizeEmbedding(&embedding)) return BadVector("embedding", 0, "zero or not finite");
  absl::MutexLock lock(&mu_);
  if (row_of_.count(face_id) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("face ", face_id, " is already indexed"));
  }
  auto [it, inserted] = subject_index_.emplace(subject, static_cast<int32_t>(subjects_.size()));
  if (inserted) subjects_.push_back(subject);
  row_of_[face_id] = face_ids_.size();
  face_ids_.push_back(face_id);
  subject_of_.push_back(it->second);
  matrix_.insert(matrix_.end(), embedding.begin(), embedding.end());
  return absl::OkStatus();
}

void GalleryIndex::RemoveRow(size_t row) {
  const size_t last = face_ids_.size() - 1;
  row_of_.erase(face_ids_[row]);
  if (row != last) {
    std::copy_n(matrix_.begin() + last * dimension_, dimension_,
                matrix_.begin() + row * dimension_);
    face_ids_[row] = face_ids_[last];
    subject_of_[row] = subject_of_[last];
    row_of_[face_ids_[row]] = row;
  }
  face_ids_.pop_back();
  subject_of_.pop_back();
  matrix_.resize(last * dimension_);
}

bool GalleryIndex::RemoveFace(int64_t face_id) {
  absl::MutexLock lock(&mu_);
  auto it = row_of_.find(face_id);
  if (it == row_of_.end()) return false;
  RemoveRow(it->second);
  return true;
}

int GalleryIndex::RemoveSubject(const std::string& subject) {
  absl::MutexLock lock(&mu_);
  auto it = subject_index_.find(subject);
  if (it == subject_index_.end()) return 0;
  const int32_t s = it->second;
  int removed = 0;
  for (size_t row = face_ids_.size(); row-- > 0;) {
    if (subject_of_[row] == s) {
      RemoveRow(row);
      ++removed;
    }
  }
  // The interned name stays (a later Add of the same subject reuses it).
  return removed;
}

absl::StatusOr<std::vector<std::vector<SubjectMatch>>> GalleryIndex::Search(
    const std::vector<std::vector<float>>& queries, int top_k) const {
  const size_t nq = queries.size();
  std::vector<float> q(nq * static_cast<size_t>(dimension_));  // normalised, contiguous
  for (size_t i = 0; i < nq; ++i) {
    if (static_cast<int>(queries[i].size()) != dimension_) {
      return BadVector("query", i,
                       absl::StrCat(queries[i].size(), " values, the gallery holds ", dimension_));
    }
    std::vector<float> v = queries[i];
    if (!NormalizeEmbedding(&v)) return BadVector("query", i, "zero or not finite");
    std::copy(v.begin(), v.end(), q.begin() + static_cast<long>(i * dimension_));
  }
  std::vector<std::vector<SubjectMatch>> results(nq);
  if (top_k <= 0 || nq == 0) return results;
  absl::ReaderMutexLock lock(&mu_);
  // Per subject and query, the best row so far (-1: none yet). Subject-major,
  // so that one row's updates for every query touch one or two cache lines.
  const size_t n_subjects = subjects_.size();
  std::vector<float> best_score(n_subjects * nq, -2.0f);
  std::vector<int64_t> best_row(n_subjects * nq, -1);
  // One pass over the matrix for every query, a block of rows at a time.
  const size_t rows = face_ids_.size();
  std::vector<float> scores(std::min(rows, kBlockRows) * nq);
  for (size_t start = 0; start < rows; start += kBlockRows) {
    const size_t n = std::min(kBlockRows, rows - start);
    ScoreBlock(matrix_.data() + start * dimension_, n, q.data(), nq, dimension_, scores.data());
    for (size_t b = 0; b < n; ++b) {
      const size_t r = start + b;
      const size_t s = static_cast<size_t>(subject_of_[r]);
      for (size_t i = 0; i < nq; ++i) {
        const float dot = scores[b * nq + i];
        const size_t slot = s * nq + i;
        if (dot > best_score[slot] ||
            (dot == best_score[slot] && face_ids_[r] < face_ids_[best_row[slot]])) {
          best_score[slot] = dot;
          best_row[slot] = static_cast<int64_t>(r);
        }
      }
    }
  }
  // Per query, the k best subjects; names are copied for those k only.
  std::vector<size_t> candidates;
  candidates.reserve(n_subjects);
  for (size_t i = 0; i < nq; ++i) {
    candidates.clear();
    for (size_t s = 0; s < n_subjects; ++s) {
      if (best_row[s * nq + i] >= 0) candidates.push_back(s * nq + i);
    }
    const int64_t* ids = face_ids_.data();  // read under the lock held here
    auto better = [&](size_t a, size_t b) {
      return best_score[a] != best_score[b] ? best_score[a] > best_score[b]
                                            : ids[best_row[a]] < ids[best_row[b]];
    };
    const size_t k = std::min(candidates.size(), static_cast<size_t>(top_k));
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<long>(k),
                      candidates.end(), better);
    for (size_t c = 0; c < k; ++c) {
      const size_t slot = candidates[c];
      results[i].push_back(SubjectMatch{subjects_[slot / nq], face_ids_[best_row[slot]],
                                        best_score[slot]});
    }
  }
  return results;
}

}  // namespace faceserve
