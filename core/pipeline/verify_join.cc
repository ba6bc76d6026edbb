#include "core/pipeline/verify_join.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/predictor/head_postprocess.h"

namespace faceserve {

void VerifyJoin::Side(int index, absl::Status status, std::vector<float> embedding,
                      std::optional<Box> box, std::vector<StageTiming> timings) {
  VerifyResult r;
  absl::Status error;
  {
    absl::MutexLock lock(&mu_);
    if (!status.ok() && error_.ok()) error_ = std::move(status);
    embedding_[index] = std::move(embedding);
    box_[index] = box;
    for (StageTiming& t : timings) {
      t.stage = absl::StrCat(index == 0 ? "a/" : "b/", t.stage);
      timings_.push_back(std::move(t));
    }
    if (--outstanding_ > 0) return;
    error = error_;
    if (error.ok()) {
      L2Normalize(&embedding_[0]);
      L2Normalize(&embedding_[1]);
      r.similarity = CosineSimilarity(embedding_[0], embedding_[1]);
      r.box_a = box_[0];
      r.box_b = box_[1];
      r.timings = std::move(timings_);
    }
  }
  // Outside the lock: `done` may do anything.
  if (!error.ok()) return done_(error);
  r.threshold = threshold_;
  r.match = r.similarity >= threshold_;
  r.model = model_;
  r.model_version = model_version_;
  done_(std::move(r));
}

}  // namespace faceserve
