#include "core/pipeline/detector_stage.h"

#include <utility>

#include "core/detector/zoom_out.h"
#include "core/unifier/tf_resize.h"

namespace faceserve {

void DetectorStage::Observe(const char* stage, absl::Duration d) const {
  if (observer_ != nullptr) observer_->OnStage(stage, detector_->card.name, d);
}

void DetectorStage::Pass(const JobPtr& job, const DecodeOptions& options, float canvas_scale,
                         Detected done) const {
  const int size = detector_->card.input_height();
  const bool center = detector_->card.letterbox_center;
  Tensor input = LetterboxToTensor(job->image, size, center, nullptr, canvas_scale);
  const LetterboxGeometry geometry =
      MakeLetterboxGeometry(job->image.cols, job->image.rows, center, canvas_scale);
  ThreadPool* pool = pool_;
  absl::Status submitted = detector_->batcher->Submit(
      std::move(input), job->ctx.deadline, job->ctx.is_cancelled,
      [pool, geometry, options, done](absl::StatusOr<std::vector<Tensor>> outputs) {
        // Decoding and NMS are CPU work: off the batch worker.
        pool->Post([geometry, options, done = std::move(done), outputs = std::move(outputs)]() {
          if (!outputs.ok()) return done(outputs.status());
          const std::vector<Tensor>& o = *outputs;
          done(DecodeDetections(o[0], o[1], o.size() >= 3 ? &o[2] : nullptr, geometry, options));
        });
      });
  if (!submitted.ok()) done(submitted);
}

void DetectorStage::Run(const JobPtr& job, float min_score, int max_faces, Continue next) const {
  const absl::Time t0 = absl::Now();
  DecodeOptions options;
  options.min_score = min_score;
  options.nms_iou = config_.nms_iou;
  options.max_faces = max_faces;
  // On a pool thread once the faces are known (after one pass or two).
  auto finish = [this, job, t0, next](absl::StatusOr<std::vector<Detection>> detections) {
    const absl::Duration d = absl::Now() - t0;
    job->AddTiming("detector", d);
    Observe("detector", d);
    if (!detections.ok()) return next(detections.status());
    for (Detection& det : *detections) {
      Face face;
      face.detection = std::move(det);
      face.detector_model = detector_->card.name;
      if (face.detection.landmarks.size() == 5) face.landmarks5 = face.detection.landmarks;
      job->faces.push_back(std::move(face));
    }
    if (observer_ != nullptr) observer_->OnFacesPerImage(job->faces.size());
    next(absl::OkStatus());
  };
  const ZoomOutConfig zoom = config_.zoom_out;
  Pass(job, options, 1.0f,
       [this, job, options, zoom, finish](absl::StatusOr<std::vector<Detection>> first) {
         const int w = job->image.cols, h = job->image.rows;
         if (!first.ok() || !NeedsZoomOut(*first, w, h, zoom.trigger_width)) {
           return finish(std::move(first));
         }
         if (absl::Status s = job->CheckAlive(); !s.ok()) return finish(s);
         // The second pass is also a stage of its own in timings and metrics
         // ("detector_zoom_out"), so its cost and rate show.
         const absl::Time t1 = absl::Now();
         Pass(job, options, zoom.canvas_scale,
              [this, job, first = *std::move(first), w, h, zoom, options, t1,
               finish](absl::StatusOr<std::vector<Detection>> zoomed) {
                const absl::Duration d = absl::Now() - t1;
                job->AddTiming("detector_zoom_out", d);
                Observe("detector_zoom_out", d);
                if (!zoomed.ok()) return finish(zoomed.status());
                finish(CombineZoomOut(first, *zoomed, w, h, zoom.trigger_width, options));
              });
       });
}

}  // namespace faceserve
