// The predictor stage: for every face, each requested predictor's crop (the
// unifier, core/unifier/crop_policy.h), then its model through its batcher,
// so faces of concurrent requests share batches, then its heads decoded
// (core/predictor). Predictors whose crop needs the 68 landmarks run in a
// second phase, after the landmarks predictor (added to the first phase when
// not requested).
#ifndef FACESERVE_CORE_PIPELINE_PREDICTOR_STAGE_H_
#define FACESERVE_CORE_PIPELINE_PREDICTOR_STAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/pipeline/face_filter.h"
#include "core/pipeline/job.h"
#include "core/pipeline/predictor_runtime.h"
#include "core/pipeline/stage_observer.h"
#include "core/pipeline/thread_pool.h"

namespace faceserve {

class PredictorStage {
 public:
  // Takes the resolved predictors in configuration order. INVALID_ARGUMENT
  // when one crops from landmarks that no predictor makes.
  // `detector_gives_5`: the detector outputs 5 landmarks per face.
  static absl::StatusOr<std::unique_ptr<PredictorStage>> Create(
      std::vector<std::unique_ptr<PredictorRuntime>> predictors, bool detector_gives_5,
      ThreadPool* pool, StageObserver* observer);

  // The predictor called `name`, or null.
  const PredictorRuntime* Find(const std::string& name) const;
  // The predictors `names` asks for, each once, in the order asked (every
  // configured one when `names` is empty), or UNKNOWN_PREDICTOR naming the
  // first unknown name.
  absl::StatusOr<std::vector<const PredictorRuntime*>> Select(
      const std::vector<std::string>& names) const;
  // The predictor an Embed or Verify names: `name`, else `default_name`,
  // else the first with an embedding head. UNKNOWN_PREDICTOR,
  // NOT_AN_EMBEDDING_PREDICTOR, or MODEL_NOT_CONFIGURED when there is none.
  absl::StatusOr<const PredictorRuntime*> ForEmbedding(const std::string& name,
                                                       const std::string& default_name) const;
  const std::vector<std::unique_ptr<PredictorRuntime>>& predictors() const { return predictors_; }
  // Every predictor with an embedding head, described (DescribeEmbedding).
  std::vector<EmbeddingModelInfo> EmbeddingModels() const;

  // Runs `requested` (and the landmarks predictor when one of them needs it)
  // on every face of `job`, but `filter.predictor` only on the faces its
  // `keep` says. Each face gets one Prediction slot per configured
  // predictor, in configuration order; slots of predictors not run stay
  // empty (Prediction::predictor ""). `next` on a pool or batch thread.
  void Run(const JobPtr& job, std::vector<const PredictorRuntime*> requested, Continue next,
           FaceFilter filter = {}) const;

 private:
  struct Phases {
    std::vector<const PredictorRuntime*> first, second;
  };
  struct RunState;

  PredictorStage(ThreadPool* pool, StageObserver* observer) : pool_(pool), observer_(observer) {}
  Phases Plan(const std::vector<const PredictorRuntime*>& requested) const;
  // One phase: crops for every (face, predictor), then the models.
  void RunPhase(const JobPtr& job, const std::vector<const PredictorRuntime*>& predictors,
                const std::shared_ptr<RunState>& run, Continue next) const;
  // Fills landmarks68 (and landmarks5 when the detector gave none) of each
  // face from the landmarks predictor's result.
  void DeriveLandmarks(Job* job) const;
  void Observe(const std::string& stage, const std::string& model, absl::Duration d) const {
    if (observer_ != nullptr) observer_->OnStage(stage, model, d);
  }

  std::vector<std::unique_ptr<PredictorRuntime>> predictors_;
  const PredictorRuntime* landmark_source_ = nullptr;  // first with a landmarks head
  ThreadPool* const pool_;
  StageObserver* const observer_;
};

// After PredictorStage::Run: keeps only the predictions that ran (the slots
// of predictors not run are empty).
void CompactPredictions(std::vector<Face>* faces);

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_PREDICTOR_STAGE_H_
