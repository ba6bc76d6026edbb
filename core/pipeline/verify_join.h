// VerifyJoin: the two sides of one Verify, computed independently (an image
// through the pipeline, or an embedding as given), joined into one answer
// once both are known.
#ifndef FACESERVE_CORE_PIPELINE_VERIFY_JOIN_H_
#define FACESERVE_CORE_PIPELINE_VERIFY_JOIN_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/pipeline/face_pipeline.h"

namespace faceserve {

// Thread-safe: the sides may finish on any threads, in any order.
class VerifyJoin {
 public:
  using Done = std::function<void(absl::StatusOr<VerifyResult>)>;

  // `model` and `model_version` name the embedding model in the answer;
  // `threshold` decides the match.
  VerifyJoin(std::string model, std::string model_version, float threshold, Done done)
      : model_(std::move(model)),
        model_version_(std::move(model_version)),
        threshold_(threshold),
        done_(std::move(done)) {}

  // Side 0 (a) or 1 (b): its embedding (or why there is none), the face's
  // box when it came from an image, and its stage timings (reported as
  // "a/<stage>", "b/<stage>"). The second call runs `done`, on its thread:
  // the first error, or the similarity of the two embeddings.
  void Side(int index, absl::Status status, std::vector<float> embedding, std::optional<Box> box,
            std::vector<StageTiming> timings);

 private:
  const std::string model_, model_version_;
  const float threshold_;
  const Done done_;
  absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 2;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::vector<float> embedding_[2] ABSL_GUARDED_BY(mu_);
  std::optional<Box> box_[2] ABSL_GUARDED_BY(mu_);
  std::vector<StageTiming> timings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_VERIFY_JOIN_H_
