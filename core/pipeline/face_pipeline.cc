// FacePipeline implementation: the stages chained by continuations.
//
// A request is a shared Job. Each stage either runs on the pipeline's thread
// pool (reader, unifier, utilizer, detection decoding) or submits items to a
// model's BatchedModel and continues from its callback. No thread waits for a
// model: a request in flight costs memory, not a thread.
#include "core/pipeline/face_pipeline.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/detector/detection_decoder.h"
#include "core/detector/zoom_out.h"
#include "core/model_card/model_card.h"
#include "core/model_card/model_files.h"
#include "core/pipeline/thread_pool.h"
#include "core/predictor/head_postprocess.h"
#include "core/reader/image_reader.h"
#include "core/unifier/face_crop.h"
#include "core/utilizer/annotator.h"
#include "core/utilizer/head_pose.h"

namespace faceserve {
namespace {

// The first 468-point 3D landmark head among a face's predictions (a face
// mesh), or null.
const HeadResult* FindMeshHead(const Face& face) {
  for (const Prediction& prediction : face.predictions) {
    for (const HeadResult& head : prediction.heads) {
      if (head.kind == HeadKind::kLandmarks3d && head.points.size() == 468) return &head;
    }
  }
  return nullptr;
}

// A client-chosen name as quoted in an error message: at most 64 bytes, so
// that a hostile name cannot blow up the status (and the grpc-message
// header, which clients refuse beyond a few KiB).
std::string ClientName(const std::string& name) {
  constexpr size_t kMax = 64;
  if (name.size() <= kMax) return name;
  return absl::StrCat(name.substr(0, kMax), "... (", name.size(), " bytes)");
}

// A model loaded once, with its card and its batcher.
struct LoadedModel {
  ModelCard card;
  std::shared_ptr<ModelRunner> runner;
  std::unique_ptr<BatchedModel> batcher;
};

// A configured predictor with everything resolved from its model card.
struct PredictorRuntime {
  PredictorConfig config;  // labels filled from the card
  LoadedModel model;
  int crop_size = 0;
  int landmark_head = -1;   // index into config.heads of a kLandmarks head
  int embedding_head = -1;  // index into config.heads of a kEmbedding head
  int64_t embedding_size = 0;
  bool needs_landmarks = false;  // its crop needs 68 landmarks (second phase)
};

absl::StatusOr<LoadedModel> LoadModel(const std::string& models_dir, const std::string& file,
                                      const std::string& role, const BatchingOptions& batching,
                                      const ModelLoader& loader, BatchObserver* observer) {
  absl::StatusOr<ModelFiles> files = LocateModelFiles(models_dir, file, role);
  if (!files.ok()) return files.status();
  LoadedModel m;
  absl::StatusOr<ModelCard> card = LoadModelCard(files->card_path);
  if (!card.ok()) {
    return absl::Status(card.status().code(), absl::StrCat(role, ": ", card.status().message()));
  }
  m.card = *std::move(card);
  absl::StatusOr<std::shared_ptr<ModelRunner>> runner = loader(files->model_path);
  if (!runner.ok()) {
    return absl::Status(runner.status().code(),
                        absl::StrCat(role, ": ", runner.status().message()));
  }
  m.runner = *std::move(runner);
  absl::StatusOr<std::unique_ptr<BatchedModel>> batcher =
      BatchedModel::Create(m.card.name, m.runner, batching, nullptr, observer);
  if (!batcher.ok()) {
    return absl::Status(batcher.status().code(),
                        absl::StrCat(role, ".batching: ", batcher.status().message()));
  }
  m.batcher = *std::move(batcher);
  return m;
}

// ---------------------------------------------------------------------------
// One request in flight.
struct Job {
  CallContext ctx;
  absl::Time start = absl::Now();
  cv::Mat image;  // RGB
  bool whole_image = false;  // the image is a face crop: no detection
  std::vector<Face> faces;

  std::mutex mu;
  std::vector<StageTiming> timings;   // guarded by mu
  absl::Duration unifier_time;        // guarded by mu

  void AddTiming(const std::string& stage, absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu);
    timings.push_back(StageTiming{stage, absl::ToDoubleSeconds(d)});
  }
  absl::Status CheckAlive() const {
    if (ctx.is_cancelled && ctx.is_cancelled()) return absl::CancelledError("call cancelled");
    if (absl::Now() > ctx.deadline) {
      return absl::DeadlineExceededError("deadline passed before the work was done");
    }
    return absl::OkStatus();
  }
};

using JobPtr = std::shared_ptr<Job>;
using Continue = std::function<void(absl::Status)>;

class FacePipelineImpl final : public FacePipeline {
 public:
  FacePipelineImpl(const Config& config, StageObserver* stage_observer)
      : config_(config),
        stage_observer_(stage_observer),
        pool_(std::max(1, config.server.request_threads), "request") {}

  ~FacePipelineImpl() override { Shutdown(); }

  absl::Status Init(const ModelLoader& loader, BatchObserver* batch_observer);

  absl::Status Preheat() override;
  PipelineState state() const override { return state_.load(); }
  std::vector<ModelInfo> models() const override;
  std::vector<std::string> predictor_names() const override {
    std::vector<std::string> names;
    for (const auto& p : predictors_) names.push_back(p->config.name);
    return names;
  }

  void Analyze(ImageInput image, AnalyzeOptions options, CallContext ctx,
               std::function<void(absl::StatusOr<AnalyzeResult>)> done) override;
  void Embed(ImageInput image, EmbedOptions options, CallContext ctx,
             std::function<void(absl::StatusOr<EmbedResult>)> done) override;
  void Verify(VerifyInput a, VerifyInput b, VerifyOptions options, CallContext ctx,
              std::function<void(absl::StatusOr<VerifyResult>)> done) override;
  void Shutdown() override;

 private:
  absl::Status AcceptingCalls() const {
    switch (state_.load()) {
      case PipelineState::kReady: return absl::OkStatus();
      case PipelineState::kShuttingDown: return absl::UnavailableError("server is shutting down");
      case PipelineState::kFailed: return absl::UnavailableError("models failed to load");
      default: return absl::UnavailableError("models are still loading; retry shortly");
    }
  }
  const PredictorRuntime* FindPredictor(const std::string& name) const {
    for (const auto& p : predictors_) {
      if (p->config.name == name) return p.get();
    }
    return nullptr;
  }
  // The predictor an Embed or Verify call names (the default one when
  // `name` is empty), or why the call is refused (not accepting calls first).
  absl::StatusOr<const PredictorRuntime*> EmbeddingPredictor(const std::string& name) const;
  // The predictors to run for `requested` (plus the landmark source when one
  // of them needs it), split into the two phases.
  void PlanPhases(const std::vector<const PredictorRuntime*>& requested,
                  std::vector<const PredictorRuntime*>* phase1,
                  std::vector<const PredictorRuntime*>* phase2) const;

  // Stages. Each calls `next` exactly once, on a pool thread.
  void ReadStage(const JobPtr& job, ImageInput input, Continue next);
  void DetectStage(const JobPtr& job, float min_score, int max_faces, Continue next);
  // One detector pass on the image letterboxed on a canvas canvas_scale times
  // its longer side; calls done with the decoded faces, on a pool thread.
  using Detected = std::function<void(absl::StatusOr<std::vector<Detection>>)>;
  void DetectPass(const JobPtr& job, const DecodeOptions& options, float canvas_scale,
                  Detected done);
  void PredictStage(const JobPtr& job, std::vector<const PredictorRuntime*> predictors,
                    Continue next);
  void RunPhases(const JobPtr& job, std::vector<const PredictorRuntime*> requested, Continue next);
  // Fills landmarks68 / landmarks5 of each face from the landmark predictor.
  void DeriveLandmarks(const JobPtr& job) const;
  absl::StatusOr<FaceCrop> MakeCrop(const Job& job, const Face& face,
                                    const PredictorRuntime& p) const;
  void Observe(const std::string& stage, const std::string& model, absl::Duration d) const {
    if (stage_observer_ != nullptr) stage_observer_->OnStage(stage, model, d);
  }

  // Runs the common front of Embed and Verify: read, detect or whole image,
  // select, embed. Calls done with the faces (embedding head filled).
  void EmbedFaces(ImageInput image, FaceSelection selection, const PredictorRuntime* predictor,
                  CallContext ctx,
                  std::function<void(absl::StatusOr<std::vector<Face>>, JobPtr)> done);

  // Constant after Init.
  const Config config_;
  StageObserver* const stage_observer_;
  LoadedModel detector_;
  std::vector<std::unique_ptr<PredictorRuntime>> predictors_;
  const PredictorRuntime* landmark_source_ = nullptr;

  std::atomic<PipelineState> state_{PipelineState::kLoading};
  ThreadPool pool_;
};

absl::Status FacePipelineImpl::Init(const ModelLoader& loader, BatchObserver* batch_observer) {
  // Detector.
  {
    absl::StatusOr<LoadedModel> m = LoadModel(config_.models_dir, config_.detector.model, "detector",
                                              config_.detector.batching, loader, batch_observer);
    if (!m.ok()) return m.status();
    detector_ = *std::move(m);
    const ModelCard& card = detector_.card;
    if (card.input_shape[0] != 3 || card.input_height() != card.input_width()) {
      return absl::InvalidArgumentError(
          absl::StrCat("detector: model '", card.name, "' must take a square RGB input"));
    }
    if (card.outputs.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("detector: model '", card.name, "' must output boxes and scores"));
    }
  }
  // Predictors.
  for (size_t i = 0; i < config_.predictors.size(); ++i) {
    const PredictorConfig& pc = config_.predictors[i];
    const std::string role = absl::StrCat("predictors.", i, " (", pc.name, ")");
    absl::StatusOr<LoadedModel> m =
        LoadModel(config_.models_dir, pc.model, role, pc.batching, loader, batch_observer);
    if (!m.ok()) return m.status();
    auto p = std::make_unique<PredictorRuntime>();
    p->config = pc;
    p->model = *std::move(m);
    const ModelCard& card = p->model.card;
    p->crop_size = pc.crop.size > 0 ? pc.crop.size : card.input_height();
    if (card.input_height() != card.input_width() || p->crop_size != card.input_height()) {
      return absl::InvalidArgumentError(absl::StrCat(role, ".crop.size: model '", card.name,
                                                     "' takes ", card.input_width(), "x",
                                                     card.input_height(), " inputs"));
    }
    for (size_t h = 0; h < p->config.heads.size(); ++h) {
      HeadConfig& head = p->config.heads[h];
      if (head.output < 0 || head.output >= static_cast<int>(card.outputs.size())) {
        return absl::InvalidArgumentError(absl::StrCat(role, ".heads.", h, ".output: model '",
                                                       card.name, "' has ", card.outputs.size(),
                                                       " outputs"));
      }
      const ModelCardOutput& out = card.outputs[head.output];
      if ((head.kind == HeadKind::kClassification || head.kind == HeadKind::kMultiLabel) &&
          head.labels.empty()) {
        head.labels = out.labels;
      }
      const int64_t values = Tensor::NumElements(out.shape);
      if ((head.kind == HeadKind::kClassification || head.kind == HeadKind::kMultiLabel) &&
          static_cast<int64_t>(head.labels.size()) != values) {
        return absl::InvalidArgumentError(absl::StrCat(role, ".heads.", h, ".labels: ",
                                                       head.labels.size(), " labels for ", values,
                                                       " outputs of model '", card.name, "'"));
      }
      if (head.kind == HeadKind::kLandmarks && p->landmark_head < 0) p->landmark_head = h;
      if (head.kind == HeadKind::kEmbedding && p->embedding_head < 0) {
        p->embedding_head = h;
        p->embedding_size = values;
      }
    }
    if (p->landmark_head >= 0 && landmark_source_ == nullptr) landmark_source_ = p.get();
    predictors_.push_back(std::move(p));
  }
  // Which predictors need the 68 landmarks first.
  for (auto& p : predictors_) {
    const CropConfig& crop = p->config.crop;
    const bool detector_has_5 = detector_.card.outputs.size() >= 3;
    p->needs_landmarks =
        p.get() != landmark_source_ &&
        ((crop.method == CropConfig::Method::kBox && crop.box != CropConfig::BoxSource::kDetection) ||
         (crop.method == CropConfig::Method::kSimilarity && !detector_has_5));
    if (p->needs_landmarks && landmark_source_ == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "predictor '", p->config.name,
          "' crops from landmarks but no predictor has a landmarks head"));
    }
  }
  if (!config_.default_embedding_predictor.empty()) {
    const PredictorRuntime* p = FindPredictor(config_.default_embedding_predictor);
    if (p == nullptr || p->embedding_head < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("default_embedding_predictor: '", config_.default_embedding_predictor,
                       "' is not a predictor with an embedding head"));
    }
  }
  state_ = PipelineState::kWarming;
  return absl::OkStatus();
}

absl::Status FacePipelineImpl::Preheat() {
  state_ = PipelineState::kWarming;
  auto warm = [](const LoadedModel& m, int max_batch) -> absl::Status {
    for (int b = 1; b <= max_batch; ++b) {
      std::vector<int64_t> shape{b};
      shape.insert(shape.end(), m.card.input_shape.begin(), m.card.input_shape.end());
      Tensor zeros(shape);
      absl::StatusOr<std::vector<Tensor>> out = m.runner->Run(zeros);
      if (!out.ok()) {
        return absl::Status(out.status().code(), absl::StrCat("preheating '", m.card.name,
                                                              "' at batch ", b, ": ",
                                                              out.status().message()));
      }
      if (out->size() < m.card.outputs.size()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "model '", m.card.name, "' returned ", out->size(), " outputs, its card lists ",
            m.card.outputs.size()));
      }
    }
    return absl::OkStatus();
  };
  if (!config_.device.preheat) {
    // Not warmed: the first calls at each batch size pay LibTorch's
    // optimisation passes (hundreds of ms on CPU, seconds on CUDA).
    state_ = PipelineState::kReady;
    return absl::OkStatus();
  }
  absl::Status s = warm(detector_, config_.detector.batching.max_batch_size);
  for (const auto& p : predictors_) {
    if (!s.ok()) break;
    s = warm(p->model, p->config.batching.max_batch_size);
  }
  state_ = s.ok() ? PipelineState::kReady : PipelineState::kFailed;
  return s;
}

std::vector<ModelInfo> FacePipelineImpl::models() const {
  std::vector<ModelInfo> out;
  out.push_back(ModelInfo{detector_.card.name, detector_.card.version, detector_.runner->device(),
                          detector_.runner->dtype(), "detector"});
  for (const auto& p : predictors_) {
    out.push_back(ModelInfo{p->model.card.name, p->model.card.version, p->model.runner->device(),
                            p->model.runner->dtype(), p->config.name});
  }
  return out;
}

void FacePipelineImpl::Shutdown() {
  PipelineState expected = state_.load();
  if (expected == PipelineState::kShuttingDown) return;
  state_ = PipelineState::kShuttingDown;
  if (detector_.batcher) detector_.batcher->Shutdown();
  for (auto& p : predictors_) {
    if (p->model.batcher) p->model.batcher->Shutdown();
  }
}

absl::StatusOr<const PredictorRuntime*> FacePipelineImpl::EmbeddingPredictor(
    const std::string& name) const {
  if (absl::Status s = AcceptingCalls(); !s.ok()) return s;
  if (!name.empty()) {
    const PredictorRuntime* p = FindPredictor(name);
    if (p == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown predictor '", ClientName(name), "'"));
    }
    if (p->embedding_head < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("predictor '", name, "' has no embedding head"));
    }
    return p;
  }
  if (!config_.default_embedding_predictor.empty()) {
    return FindPredictor(config_.default_embedding_predictor);
  }
  for (const auto& p : predictors_) {
    if (p->embedding_head >= 0) return p.get();
  }
  return absl::FailedPreconditionError("no embedding predictor is configured");
}

void FacePipelineImpl::PlanPhases(const std::vector<const PredictorRuntime*>& requested,
                                  std::vector<const PredictorRuntime*>* phase1,
                                  std::vector<const PredictorRuntime*>* phase2) const {
  bool need_source = false;
  bool have_source = false;
  for (const PredictorRuntime* p : requested) {
    if (p->needs_landmarks) {
      need_source = true;
      phase2->push_back(p);
    } else {
      phase1->push_back(p);
      if (p == landmark_source_) have_source = true;
    }
  }
  if (need_source && !have_source) phase1->insert(phase1->begin(), landmark_source_);
}

// ---------------------------------------------------------------------------
// Stages

void FacePipelineImpl::ReadStage(const JobPtr& job, ImageInput input, Continue next) {
  pool_.Post([this, job, input = std::move(input), next = std::move(next)]() {
    if (absl::Status s = job->CheckAlive(); !s.ok()) return next(s);
    const absl::Time t0 = absl::Now();
    absl::StatusOr<cv::Mat> image =
        ReadImage(input, ReaderLimits{config_.reader.max_bytes, config_.reader.max_pixels});
    const absl::Duration d = absl::Now() - t0;
    job->AddTiming("reader", d);
    Observe("reader", "", d);
    if (!image.ok()) return next(image.status());
    job->image = *std::move(image);
    next(absl::OkStatus());
  });
}

void FacePipelineImpl::DetectPass(const JobPtr& job, const DecodeOptions& options,
                                  float canvas_scale, Detected done) {
  const int size = detector_.card.input_height();
  const bool center = detector_.card.letterbox_center;
  Tensor input = LetterboxToTensor(job->image, size, center, nullptr, canvas_scale);
  const LetterboxGeometry geometry =
      MakeLetterboxGeometry(job->image.cols, job->image.rows, center, canvas_scale);
  absl::Status submitted = detector_.batcher->Submit(
      std::move(input), job->ctx.deadline, job->ctx.is_cancelled,
      [this, geometry, options, done](absl::StatusOr<std::vector<Tensor>> outputs) {
        pool_.Post([geometry, options, done = std::move(done), outputs = std::move(outputs)]() {
          if (!outputs.ok()) return done(outputs.status());
          const std::vector<Tensor>& o = *outputs;
          done(DecodeDetections(o[0], o[1], o.size() >= 3 ? &o[2] : nullptr, geometry, options));
        });
      });
  if (!submitted.ok()) done(submitted);
}

void FacePipelineImpl::DetectStage(const JobPtr& job, float min_score, int max_faces,
                                   Continue next) {
  const absl::Time t0 = absl::Now();
  DecodeOptions options;
  options.min_score = min_score;
  options.nms_iou = config_.detector.nms_iou;
  options.max_faces = max_faces;
  // Runs on a pool thread once the faces are known (after one pass or two).
  auto finish = [this, job, t0, next](absl::StatusOr<std::vector<Detection>> detections) {
    const absl::Duration d = absl::Now() - t0;
    job->AddTiming("detector", d);
    Observe("detector", detector_.card.name, d);
    if (!detections.ok()) return next(detections.status());
    for (Detection& det : *detections) {
      Face face;
      face.detection = std::move(det);
      face.detector_model = detector_.card.name;
      if (face.detection.landmarks.size() == 5) face.landmarks5 = face.detection.landmarks;
      job->faces.push_back(std::move(face));
    }
    if (stage_observer_ != nullptr) stage_observer_->OnFacesPerImage(job->faces.size());
    next(absl::OkStatus());
  };
  const ZoomOutConfig zoom = config_.detector.zoom_out;
  DetectPass(job, options, 1.0f,
             [this, job, options, zoom, finish](absl::StatusOr<std::vector<Detection>> first) {
               const int w = job->image.cols, h = job->image.rows;
               if (!first.ok() || !NeedsZoomOut(*first, w, h, zoom.trigger_width)) {
                 return finish(std::move(first));
               }
               if (absl::Status s = job->CheckAlive(); !s.ok()) return finish(s);
               // The second pass is also a stage of its own in timings and
               // metrics ("detector_zoom_out"), so its cost and rate show.
               const absl::Time t1 = absl::Now();
               DetectPass(job, options, zoom.canvas_scale,
                          [this, job, first = *std::move(first), w, h, zoom, options, t1,
                           finish](absl::StatusOr<std::vector<Detection>> zoomed) {
                            const absl::Duration d = absl::Now() - t1;
                            job->AddTiming("detector_zoom_out", d);
                            Observe("detector_zoom_out", detector_.card.name, d);
                            if (!zoomed.ok()) return finish(zoomed.status());
                            finish(CombineZoomOut(first, *zoomed, w, h, zoom.trigger_width, options));
                          });
             });
}

absl::StatusOr<FaceCrop> FacePipelineImpl::MakeCrop(const Job& job, const Face& face,
                                                    const PredictorRuntime& p) const {
  const CropConfig& crop = p.config.crop;
  if (job.whole_image) {
    // A face chip: already cropped (and, for chips, aligned) as the model expects.
    if (crop.method == CropConfig::Method::kSimilarity) {
      return ResizeWholeImage(job.image, p.crop_size);
    }
    return CropBoxToSquare(job.image, face.detection.box, p.crop_size, crop.scale);
  }
  if (crop.method == CropConfig::Method::kShiftedBox) {
    return CropScaledBoxShifted(job.image, face.detection.box, p.crop_size, crop.scale);
  }
  if (crop.method == CropConfig::Method::kSquareBox) {
    return CropSquareBox(job.image, face.detection.box, p.crop_size, crop.scale);
  }
  if (crop.method == CropConfig::Method::kSimilarity) {
    if (face.landmarks5.size() != 5) {
      return absl::InternalError(
          absl::StrCat("predictor '", p.config.name, "' needs 5 landmarks, none were found"));
    }
    return AlignBySimilarity(job.image, face.landmarks5, p.crop_size, crop.padding);
  }
  Box box = face.detection.box;
  if (face.landmarks68.size() == 68) {
    if (crop.box == CropConfig::BoxSource::kLandmarks) box = BoxFromLandmarks68(face.landmarks68);
    if (crop.box == CropConfig::BoxSource::kLandmarksDlib) box = DlibBoxFromLandmarks68(face.landmarks68, job.image.cols, job.image.rows);
  }
  return CropBoxToSquare(job.image, box, p.crop_size, crop.scale);
}

void FacePipelineImpl::PredictStage(const JobPtr& job,
                                    std::vector<const PredictorRuntime*> predictors,
                                    Continue next) {
  if (job->faces.empty() || predictors.empty()) return next(absl::OkStatus());
  // Shared by every item of this stage; the last callback continues.
  struct StageState {
    std::mutex mu;
    int outstanding = 0;
    absl::Status error;
    std::map<const PredictorRuntime*, absl::Time> first_submit, last_done;
  };
  auto state = std::make_shared<StageState>();
  const int items = static_cast<int>(job->faces.size() * predictors.size());
  state->outstanding = items;
  // Slot per (face, predictor) so results keep the configured order.
  for (Face& face : job->faces) face.predictions.resize(predictors_.size());

  auto finish_one = [this, job, state, next](const PredictorRuntime* p, absl::Status s) {
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(state->mu);
      if (!s.ok() && state->error.ok()) state->error = s;
      state->last_done[p] = absl::Now();
      last = --state->outstanding == 0;
    }
    if (!last) return;
    pool_.Post([this, job, state, next]() {
      for (const auto& [p, t0] : state->first_submit) {
        const absl::Duration d = state->last_done[p] - t0;
        job->AddTiming("predictor/" + p->config.name, d);
        Observe("predictor", p->config.name, d);
      }
      next(state->error);
    });
  };

  absl::Duration unifier_time;
  for (size_t f = 0; f < job->faces.size(); ++f) {
    for (const PredictorRuntime* p : predictors) {
      const absl::Time c0 = absl::Now();
      absl::StatusOr<FaceCrop> crop = MakeCrop(*job, job->faces[f], *p);
      unifier_time += absl::Now() - c0;
      if (!crop.ok()) {
        finish_one(p, crop.status());
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(state->mu);
        state->first_submit.emplace(p, absl::Now());
      }
      const CropToImage crop_to_image{crop->crop_to_image(0, 0), crop->crop_to_image(0, 1),
                                      crop->crop_to_image(0, 2), crop->crop_to_image(1, 0),
                                      crop->crop_to_image(1, 1), crop->crop_to_image(1, 2)};
      const size_t index = std::find_if(predictors_.begin(), predictors_.end(),
                                        [p](const auto& q) { return q.get() == p; }) -
                           predictors_.begin();
      absl::Status submitted = p->model.batcher->Submit(
          ToTensorCHW(crop->rgb), job->ctx.deadline, job->ctx.is_cancelled,
          [job, p, f, index, crop_to_image, finish_one](absl::StatusOr<std::vector<Tensor>> out) {
            if (!out.ok()) return finish_one(p, out.status());
            Prediction prediction;
            prediction.predictor = p->config.name;
            prediction.model = p->model.card.name;
            prediction.model_version = p->model.card.version;
            for (const HeadConfig& head : p->config.heads) {
              if (head.output >= static_cast<int>(out->size())) {
                return finish_one(p, absl::InternalError(absl::StrCat(
                                         "model '", p->model.card.name, "' returned ",
                                         out->size(), " outputs")));
              }
              absl::StatusOr<HeadResult> r =
                  PostprocessHead(head, (*out)[head.output], crop_to_image, p->crop_size);
              if (!r.ok()) return finish_one(p, r.status());
              prediction.heads.push_back(*std::move(r));
            }
            // Distinct slots per (face, predictor): no lock needed.
            job->faces[f].predictions[index] = std::move(prediction);
            finish_one(p, absl::OkStatus());
          });
      if (!submitted.ok()) finish_one(p, submitted);
    }
  }
  {
    std::lock_guard<std::mutex> lock(job->mu);
    job->unifier_time += unifier_time;
  }
}

void FacePipelineImpl::DeriveLandmarks(const JobPtr& job) const {
  if (landmark_source_ == nullptr) return;
  const size_t index = std::find_if(predictors_.begin(), predictors_.end(),
                                    [this](const auto& q) { return q.get() == landmark_source_; }) -
                       predictors_.begin();
  for (Face& face : job->faces) {
    if (face.predictions.size() <= index) continue;
    const Prediction& p = face.predictions[index];
    const int h = landmark_source_->landmark_head;
    if (h < 0 || static_cast<size_t>(h) >= p.heads.size()) continue;
    const std::vector<Point>& points = p.heads[h].points;
    if (points.size() == 68) {
      face.landmarks68 = points;
      if (face.landmarks5.size() != 5) face.landmarks5 = Landmarks5From68(points);
    }
  }
}

void FacePipelineImpl::RunPhases(const JobPtr& job,
                                 std::vector<const PredictorRuntime*> requested, Continue next) {
  auto phase1 = std::make_shared<std::vector<const PredictorRuntime*>>();
  auto phase2 = std::make_shared<std::vector<const PredictorRuntime*>>();
  PlanPhases(requested, phase1.get(), phase2.get());
  PredictStage(job, *phase1, [this, job, phase2, next](absl::Status s) {
    if (!s.ok()) return next(s);
    DeriveLandmarks(job);
    PredictStage(job, *phase2, [this, job, next](absl::Status s2) {
      {
        std::lock_guard<std::mutex> lock(job->mu);
        job->timings.push_back(StageTiming{"unifier", absl::ToDoubleSeconds(job->unifier_time)});
      }
      Observe("unifier", "", job->unifier_time);
      next(s2);
    });
  });
}

// Keeps only the predictions that ran (slots of predictors not run are empty).
void CompactPredictions(std::vector<Face>* faces) {
  for (Face& face : *faces) {
    std::vector<Prediction> kept;
    for (Prediction& p : face.predictions) {
      if (!p.predictor.empty()) kept.push_back(std::move(p));
    }
    face.predictions = std::move(kept);
  }
}

// ---------------------------------------------------------------------------
// RPCs

void FacePipelineImpl::Analyze(ImageInput image, AnalyzeOptions options, CallContext ctx,
                               std::function<void(absl::StatusOr<AnalyzeResult>)> done) {
  if (absl::Status s = AcceptingCalls(); !s.ok()) {
    pool_.Post([done, s] { done(s); });
    return;
  }
  std::vector<const PredictorRuntime*> requested;
  if (options.detect_only) {
    // None requested.
  } else if (options.predictors.empty()) {
    for (const auto& p : predictors_) requested.push_back(p.get());
  } else {
    std::set<std::string> seen;
    for (const std::string& name : options.predictors) {
      const PredictorRuntime* p = FindPredictor(name);
      if (p == nullptr) {
        absl::Status s = absl::InvalidArgumentError(
            absl::StrCat("unknown predictor '", ClientName(name),
                         "' (configured: ", absl::StrJoin(predictor_names(), ", "), ")"));
        pool_.Post([done, s] { done(s); });
        return;
      }
      if (seen.insert(name).second) requested.push_back(p);
    }
  }
  const float min_score =
      options.min_detection_score > 0 ? options.min_detection_score : config_.detector.min_score;
  const int max_faces = options.max_faces > 0
                            ? std::min(options.max_faces, config_.detector.max_faces)
                            : config_.detector.max_faces;
  auto job = std::make_shared<Job>();
  job->ctx = std::move(ctx);
  auto fail_or = [done](absl::Status s, auto then) {
    if (!s.ok()) return done(s);
    then();
  };
  ReadStage(job, std::move(image), [=](absl::Status s) {
    fail_or(s, [=] {
      DetectStage(job, min_score, max_faces, [=](absl::Status s) {
        fail_or(s, [=] {
          RunPhases(job, requested, [=](absl::Status s) {
            fail_or(s, [=] {
              CompactPredictions(&job->faces);
              AnalyzeResult result;
              result.width = job->image.cols;
              result.height = job->image.rows;
              const absl::Time u0 = absl::Now();
              bool utilized = false;
              if (config_.utilizers.head_pose) {
                for (Face& face : job->faces) {
                  if (face.landmarks68.size() != 68) continue;
                  absl::StatusOr<HeadPose> pose =
                      EstimateHeadPose(face.landmarks68, job->image.cols, job->image.rows);
                  // A pose that cannot be fitted is left out, not an error.
                  if (!pose.ok()) continue;
                  face.head_pose = *pose;
                  face.has_head_pose = true;
                  utilized = true;
                }
                for (Face& face : job->faces) {
                  const HeadResult* mesh = FindMeshHead(face);
                  if (mesh == nullptr) continue;
                  absl::StatusOr<HeadPose> pose =
                      EstimateHeadPoseFromMesh(mesh->points, mesh->depths);
                  if (!pose.ok()) continue;
                  face.mesh_head_pose = *pose;
                  face.has_mesh_head_pose = true;
                  utilized = true;
                }
              }
              if (options.return_face_crops) {
                for (Face& face : job->faces) {
                  absl::StatusOr<std::string> jpeg = FaceCropJpeg(job->image, face.detection.box);
                  if (!jpeg.ok()) return done(jpeg.status());
                  face.crop_jpeg = *std::move(jpeg);
                }
              }
              if (options.return_annotated_image) {
                absl::StatusOr<std::string> jpeg = DrawAnnotatedJpeg(job->image, job->faces);
                if (!jpeg.ok()) return done(jpeg.status());
                result.annotated_jpeg = *std::move(jpeg);
              }
              if (utilized || options.return_face_crops || options.return_annotated_image) {
                const absl::Duration d = absl::Now() - u0;
                job->AddTiming("utilizer", d);
                Observe("utilizer", "", d);
              }
              if (!options.return_embeddings) {
                for (Face& face : job->faces) {
                  for (Prediction& p : face.predictions) {
                    for (HeadResult& h : p.heads) h.embedding.clear();
                  }
                }
              }
              result.faces = std::move(job->faces);
              result.timings = job->timings;
              done(std::move(result));
            });
          });
        });
      });
    });
  });
}

void FacePipelineImpl::EmbedFaces(
    ImageInput image, FaceSelection selection, const PredictorRuntime* predictor, CallContext ctx,
    std::function<void(absl::StatusOr<std::vector<Face>>, JobPtr)> done) {
  auto job = std::make_shared<Job>();
  job->ctx = std::move(ctx);
  job->whole_image = selection == FaceSelection::kWholeImage;
  auto finish = [this, job, predictor, done](absl::Status s) {
    if (!s.ok()) return done(s, job);
    RunPhases(job, {predictor}, [job, done](absl::Status s) {
      if (!s.ok()) return done(s, job);
      CompactPredictions(&job->faces);
      done(std::move(job->faces), job);
    });
  };
  ReadStage(job, std::move(image), [this, job, selection, finish, done](absl::Status s) {
    if (!s.ok()) return done(s, job);
    if (selection == FaceSelection::kWholeImage) {
      Face face;
      face.detection.box = Box{0, 0, static_cast<float>(job->image.cols),
                               static_cast<float>(job->image.rows)};
      job->faces.push_back(face);
      return finish(absl::OkStatus());
    }
    DetectStage(job, config_.detector.min_score, config_.detector.max_faces,
                [job, selection, finish](absl::Status s) {
                  if (s.ok() && selection == FaceSelection::kLargest && job->faces.size() > 1) {
                    auto largest = std::max_element(
                        job->faces.begin(), job->faces.end(), [](const Face& a, const Face& b) {
                          return a.detection.box.area() < b.detection.box.area();
                        });
                    Face keep = std::move(*largest);
                    job->faces.clear();
                    job->faces.push_back(std::move(keep));
                  }
                  finish(s);
                });
  });
}

// The embedding head's result of `face` for predictor `p`.
const HeadResult* EmbeddingOf(const Face& face, const PredictorRuntime* p) {
  for (const Prediction& pred : face.predictions) {
    if (pred.predictor == p->config.name && p->embedding_head < static_cast<int>(pred.heads.size())) {
      return &pred.heads[p->embedding_head];
    }
  }
  return nullptr;
}

void FacePipelineImpl::Embed(ImageInput image, EmbedOptions options, CallContext ctx,
                             std::function<void(absl::StatusOr<EmbedResult>)> done) {
  absl::StatusOr<const PredictorRuntime*> p = EmbeddingPredictor(options.predictor);
  if (!p.ok()) {
    pool_.Post([done, s = p.status()] { done(s); });
    return;
  }
  const PredictorRuntime* predictor = *p;
  EmbedFaces(std::move(image), options.selection, predictor, std::move(ctx),
             [predictor, done](absl::StatusOr<std::vector<Face>> faces, JobPtr job) {
               if (!faces.ok()) return done(faces.status());
               EmbedResult result;
               result.model = predictor->model.card.name;
               result.model_version = predictor->model.card.version;
               for (const Face& face : *faces) {
                 const HeadResult* h = EmbeddingOf(face, predictor);
                 if (h == nullptr) continue;
                 result.faces.push_back(
                     FaceEmbedding{face.detection.box, face.detection.score, h->embedding,
                                   face.detection.truncated});
               }
               result.timings = job->timings;
               done(std::move(result));
             });
}

void FacePipelineImpl::Verify(VerifyInput a, VerifyInput b, VerifyOptions options,
                              CallContext ctx,
                              std::function<void(absl::StatusOr<VerifyResult>)> done) {
  absl::StatusOr<const PredictorRuntime*> p = EmbeddingPredictor(options.predictor);
  if (!p.ok()) {
    pool_.Post([done, s = p.status()] { done(s); });
    return;
  }
  const PredictorRuntime* predictor = *p;
  for (const VerifyInput* side : {&a, &b}) {
    if (side->is_embedding &&
        static_cast<int64_t>(side->embedding.size()) != predictor->embedding_size) {
      absl::Status s = absl::InvalidArgumentError(absl::StrCat(
          "embedding ", side == &a ? "a" : "b", " has ", side->embedding.size(),
          " values; model '", predictor->model.card.name, "' makes ", predictor->embedding_size));
      pool_.Post([done, s] { done(s); });
      return;
    }
  }
  struct VerifyState {
    std::mutex mu;
    int outstanding = 2;
    absl::Status error;
    std::vector<float> embedding[2];
    std::optional<Box> box[2];
    std::vector<StageTiming> timings;
  };
  auto state = std::make_shared<VerifyState>();
  const float threshold =
      options.threshold != 0 ? options.threshold : predictor->config.verify_threshold;
  auto side_done = [state, predictor, threshold, done](int index, absl::Status s,
                                                       std::vector<float> embedding,
                                                       std::optional<Box> box,
                                                       std::vector<StageTiming> timings) {
    {
      std::lock_guard<std::mutex> lock(state->mu);
      if (!s.ok() && state->error.ok()) state->error = s;
      state->embedding[index] = std::move(embedding);
      state->box[index] = box;
      for (StageTiming& t : timings) {
        t.stage = absl::StrCat(index == 0 ? "a/" : "b/", t.stage);
        state->timings.push_back(std::move(t));
      }
      if (--state->outstanding > 0) return;
    }
    if (!state->error.ok()) return done(state->error);
    std::vector<float> ea = state->embedding[0], eb = state->embedding[1];
    L2Normalize(&ea);
    L2Normalize(&eb);
    VerifyResult r;
    r.similarity = CosineSimilarity(ea, eb);
    r.threshold = threshold;
    r.match = r.similarity >= threshold;
    r.model = predictor->model.card.name;
    r.model_version = predictor->model.card.version;
    r.box_a = state->box[0];
    r.box_b = state->box[1];
    r.timings = std::move(state->timings);
    done(std::move(r));
  };
  VerifyInput* sides[2] = {&a, &b};
  for (int i = 0; i < 2; ++i) {
    VerifyInput& side = *sides[i];
    if (side.is_embedding) {
      pool_.Post([side_done, i, e = std::move(side.embedding)]() mutable {
        side_done(i, absl::OkStatus(), std::move(e), std::nullopt, {});
      });
      continue;
    }
    const FaceSelection selection =
        side.selection == FaceSelection::kWholeImage ? FaceSelection::kWholeImage
                                                     : FaceSelection::kLargest;
    EmbedFaces(std::move(side.image), selection, predictor, ctx,
               [side_done, i, predictor](absl::StatusOr<std::vector<Face>> faces, JobPtr job) {
                 if (!faces.ok()) return side_done(i, faces.status(), {}, std::nullopt, {});
                 const HeadResult* h = faces->empty() ? nullptr : EmbeddingOf(faces->front(), predictor);
                 if (h == nullptr) {
                   return side_done(
                       i,
                       absl::NotFoundError(absl::StrCat(
                           "no face found in image ", i == 0 ? "a" : "b",
                           " (if it is already a face crop, use selection WHOLE_IMAGE)")),
                       {}, std::nullopt, {});
                 }
                 side_done(i, absl::OkStatus(), h->embedding, faces->front().detection.box,
                           job->timings);
               });
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<FacePipeline>> FacePipeline::Create(const Config& config,
                                                                   ModelLoader loader,
                                                                   BatchObserver* batch_observer,
                                                                   StageObserver* stage_observer) {
  auto pipeline = std::make_unique<FacePipelineImpl>(config, stage_observer);
  absl::Status s = pipeline->Init(loader, batch_observer);
  if (!s.ok()) return s;
  return std::unique_ptr<FacePipeline>(std::move(pipeline));
}

}  // namespace faceserve
