// StageObserver: per-stage timing events, e.g. for metrics.
#ifndef FACESERVE_CORE_PIPELINE_STAGE_OBSERVER_H_
#define FACESERVE_CORE_PIPELINE_STAGE_OBSERVER_H_

#include <string>

#include "absl/time/time.h"

namespace faceserve {

// Thread-safe, fast: called from the pipeline's threads on every request.
class StageObserver {
 public:
  virtual ~StageObserver() = default;
  // stage: "reader", "detector", "detector_zoom_out", "unifier", "predictor",
  // "utilizer"; model: the model or predictor name ("" where none).
  virtual void OnStage(const std::string& stage, const std::string& model,
                       absl::Duration duration) = 0;
  virtual void OnFacesPerImage(int faces) = 0;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_STAGE_OBSERVER_H_
