// The detector stage: the image letterboxed into the detector (through its
// batcher, so images of concurrent requests share passes), the boxes decoded
// with NMS, and a second, zoomed-out pass when a face fills the image
// (core/detector/zoom_out.h). Fills Job::faces, best score first.
#ifndef FACESERVE_CORE_PIPELINE_DETECTOR_STAGE_H_
#define FACESERVE_CORE_PIPELINE_DETECTOR_STAGE_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config/config.h"
#include "core/detector/detection_decoder.h"
#include "core/pipeline/job.h"
#include "core/pipeline/loaded_model.h"
#include "core/pipeline/stage_observer.h"
#include "core/pipeline/thread_pool.h"

namespace faceserve {

class DetectorStage {
 public:
  // Not owned: `detector` (its batcher), `pool`, `observer` (may be null);
  // all outlive the stage.
  DetectorStage(const DetectorConfig& config, const LoadedModel* detector, ThreadPool* pool,
                StageObserver* observer)
      : config_(config), detector_(detector), pool_(pool), observer_(observer) {}

  // Faces scored above `min_score`, at most `max_faces`, into job->faces;
  // `next` on a pool thread.
  void Run(const JobPtr& job, float min_score, int max_faces, Continue next) const;

 private:
  using Detected = std::function<void(absl::StatusOr<std::vector<Detection>>)>;
  // One pass on the image letterboxed on a canvas canvas_scale times its
  // longer side; `done` with the decoded faces, on a pool thread.
  void Pass(const JobPtr& job, const DecodeOptions& options, float canvas_scale,
            Detected done) const;
  void Observe(const char* stage, absl::Duration d) const;

  const DetectorConfig config_;
  const LoadedModel* const detector_;
  ThreadPool* const pool_;
  StageObserver* const observer_;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_DETECTOR_STAGE_H_
