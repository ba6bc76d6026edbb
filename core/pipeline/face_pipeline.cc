// FacePipeline implementation: the flow only. Each RPC is a flat chain of
// stages (job.h's RunStages) over one Job:
//
//   reader -> detector -> unifier + predictors -> utilizers
//
// The stages live in their own units: the reader in core/reader, the
// detector in detector_stage, the crops and predictors in predictor_stage
// (with core/unifier's crop policy), the utilizers in core/utilizer. Model
// loading is loaded_model and predictor_runtime. No thread waits for a
// model: a request in flight costs memory, not a thread.
#include "core/pipeline/face_pipeline.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "core/pipeline/detector_stage.h"
#include "core/pipeline/job.h"
#include "core/pipeline/loaded_model.h"
#include "core/pipeline/predictor_runtime.h"
#include "core/pipeline/predictor_stage.h"
#include "core/pipeline/thread_pool.h"
#include "core/pipeline/verify_join.h"
#include "core/reader/image_reader.h"
#include "core/utilizer/utilizers.h"

namespace faceserve {
namespace {

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
    for (const auto& p : predictor_stage_->predictors()) names.push_back(p->config.name);
    return names;
  }

  absl::StatusOr<EmbeddingModelInfo> embedding_model(const std::string& predictor) const override {
    absl::StatusOr<const PredictorRuntime*> p =
        predictor_stage_->ForEmbedding(predictor, config_.default_embedding_predictor);
    if (!p.ok()) return p.status();
    return DescribeEmbedding(**p);
  }
  std::vector<EmbeddingModelInfo> embedding_models() const override {
    return predictor_stage_->EmbeddingModels();
  }

  void Analyze(ImageInput image, AnalyzeOptions options, CallContext ctx,
               std::function<void(absl::StatusOr<AnalyzeResult>)> done) override;
  void Embed(ImageInput image, EmbedOptions options, CallContext ctx,
             std::function<void(absl::StatusOr<EmbedResult>)> done) override;
  void Verify(VerifyInput a, VerifyInput b, VerifyOptions options, CallContext ctx,
              std::function<void(absl::StatusOr<VerifyResult>)> done) override;
  void Shutdown() override;

 private:
  // Moves the state from `from` to `to`; false (and no change) when it was
  // not `from`.
  bool Transition(PipelineState from, PipelineState to) {
    return state_.compare_exchange_strong(from, to);
  }
  // Ends Preheat() with `result`: kReady or kFailed, unless shut down meanwhile.
  absl::Status FinishPreheat(absl::Status result);
  absl::Status AcceptingCalls() const;
  // Calls `done(status)` on a pool thread: a refusal never runs the caller's
  // callback on the caller's thread.
  template <typename Result>
  void Refuse(absl::Status status, std::function<void(absl::StatusOr<Result>)> done) {
    pool_.Post([done = std::move(done), status = std::move(status)] { done(status); });
  }
  // The predictors an Analyze asks for, or INVALID_ARGUMENT naming an unknown one.
  absl::StatusOr<std::vector<const PredictorRuntime*>> RequestedPredictors(
      const AnalyzeOptions& options) const;
  // The predictor an Embed or Verify call names (the default one when
  // `name` is empty), or why the call is refused (not accepting calls first).
  absl::StatusOr<const PredictorRuntime*> EmbeddingPredictor(const std::string& name) const;

  // Stages (job.h's Stage): each calls `next` exactly once.
  Stage Read(ImageInput input);
  Stage Detect(float min_score, int max_faces);
  // Embed and Verify: the whole image as the one face, or the detector (and
  // only the largest face for kLargest).
  Stage SelectFaces(FaceSelection selection);
  Stage Predict(std::vector<const PredictorRuntime*> predictors, FaceFilter filter = {});
  Stage Utilize(const AnalyzeOptions& options);
  void Observe(const std::string& stage, const std::string& model, absl::Duration d) const {
    if (stage_observer_ != nullptr) stage_observer_->OnStage(stage, model, d);
  }

  // Read, select, embed: the faces of one image with `predictor`'s
  // embedding, for Embed and each image side of Verify.
  void EmbedFaces(ImageInput image, FaceSelection selection, const PredictorRuntime* predictor,
                  CallContext ctx, std::function<void(absl::Status, JobPtr)> done);

  // Constant after Init. Declared before pool_ so that they outlive the
  // tasks the pool runs while it drains.
  const Config config_;
  StageObserver* const stage_observer_;
  LoadedModel detector_;
  std::unique_ptr<DetectorStage> detector_stage_;
  std::unique_ptr<PredictorStage> predictor_stage_;

  std::atomic<PipelineState> state_{PipelineState::kLoading};
  ThreadPool pool_;
};

absl::Status FacePipelineImpl::Init(const ModelLoader& loader, BatchObserver* batch_observer) {
  absl::StatusOr<LoadedModel> detector =
      LoadModel(config_.models_dir, config_.detector.model, "detector", config_.detector.batching,
                loader, batch_observer);
  if (!detector.ok()) return detector.status();
  detector_ = *std::move(detector);
  const ModelCard& card = detector_.card;
  if (card.input_shape[0] != 3 || card.input_height() != card.input_width()) {
    return absl::InvalidArgumentError(
        absl::StrCat("detector: model '", card.name, "' must take a square RGB input"));
  }
  if (card.outputs.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("detector: model '", card.name, "' must output boxes and scores"));
  }
  detector_stage_ =
      std::make_unique<DetectorStage>(config_.detector, &detector_, &pool_, stage_observer_);

  std::vector<std::unique_ptr<PredictorRuntime>> predictors;
  for (size_t i = 0; i < config_.predictors.size(); ++i) {
    const PredictorConfig& pc = config_.predictors[i];
    const std::string role = absl::StrCat("predictors.", i, " (", pc.name, ")");
    absl::StatusOr<LoadedModel> m =
        LoadModel(config_.models_dir, pc.model, role, pc.batching, loader, batch_observer);
    if (!m.ok()) return m.status();
    absl::StatusOr<std::unique_ptr<PredictorRuntime>> p = ResolvePredictor(pc, *std::move(m), role);
    if (!p.ok()) return p.status();
    predictors.push_back(*std::move(p));
  }
  const bool detector_gives_5 = card.outputs.size() >= 3;
  absl::StatusOr<std::unique_ptr<PredictorStage>> stage =
      PredictorStage::Create(std::move(predictors), detector_gives_5, &pool_, stage_observer_);
  if (!stage.ok()) return stage.status();
  predictor_stage_ = *std::move(stage);

  if (!config_.default_embedding_predictor.empty()) {
    const PredictorRuntime* p = predictor_stage_->Find(config_.default_embedding_predictor);
    if (p == nullptr || p->embedding_head < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("default_embedding_predictor: '", config_.default_embedding_predictor,
                       "' is not a predictor with an embedding head"));
    }
  }
  // Loaded; ready once preheated.
  if (!Transition(PipelineState::kLoading, PipelineState::kWarming)) {
    return absl::CancelledError("shut down while loading");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Lifecycle

absl::Status FacePipelineImpl::Preheat() {
  switch (state_.load()) {
    case PipelineState::kWarming:
      break;
    case PipelineState::kReady:
      return absl::OkStatus();  // preheated before
    case PipelineState::kShuttingDown:
      return absl::CancelledError("shut down before preheating");
    default:
      return absl::FailedPreconditionError("the models are not loaded");
  }
  // Not warmed: the first calls at each batch size pay LibTorch's
  // optimisation passes (hundreds of ms on CPU, seconds on CUDA).
  if (!config_.device.preheat) return FinishPreheat(absl::OkStatus());
  const auto stop = [this] { return state_.load() == PipelineState::kShuttingDown; };
  absl::Status s = PreheatModel(detector_, config_.detector.batching.max_batch_size, stop);
  for (const auto& p : predictor_stage_->predictors()) {
    if (!s.ok()) break;
    s = PreheatModel(p->model, p->config.batching.max_batch_size, stop);
  }
  return FinishPreheat(std::move(s));
}

absl::Status FacePipelineImpl::FinishPreheat(absl::Status result) {
  const PipelineState to = result.ok() ? PipelineState::kReady : PipelineState::kFailed;
  if (!Transition(PipelineState::kWarming, to)) {
    return absl::CancelledError("shut down while preheating");
  }
  return result;
}

void FacePipelineImpl::Shutdown() {
  if (state_.exchange(PipelineState::kShuttingDown) == PipelineState::kShuttingDown) return;
  if (detector_.batcher) detector_.batcher->Shutdown();
  if (predictor_stage_ == nullptr) return;
  for (const auto& p : predictor_stage_->predictors()) {
    if (p->model.batcher) p->model.batcher->Shutdown();
  }
}

absl::Status FacePipelineImpl::AcceptingCalls() const {
  switch (state_.load()) {
    case PipelineState::kReady:
      return absl::OkStatus();
    case PipelineState::kShuttingDown:
      return WithReason(absl::UnavailableError("server is shutting down"),
                        ErrorReason::kShuttingDown);
    case PipelineState::kFailed:
      return WithReason(absl::UnavailableError("models failed to load"),
                        ErrorReason::kModelsNotReady);
    default:
      return WithReason(absl::UnavailableError("models are still loading; retry shortly"),
                        ErrorReason::kModelsNotReady);
  }
}

std::vector<ModelInfo> FacePipelineImpl::models() const {
  std::vector<ModelInfo> out;
  out.push_back(ModelInfo{detector_.card.name, detector_.card.version, detector_.runner->device(),
                          detector_.runner->dtype(), "detector"});
  for (const auto& p : predictor_stage_->predictors()) {
    out.push_back(ModelInfo{p->model.card.name, p->model.card.version, p->model.runner->device(),
                            p->model.runner->dtype(), p->config.name});
  }
  return out;
}

// ---------------------------------------------------------------------------
// Choosing predictors

absl::StatusOr<std::vector<const PredictorRuntime*>> FacePipelineImpl::RequestedPredictors(
    const AnalyzeOptions& options) const {
  if (options.detect_only) return std::vector<const PredictorRuntime*>{};
  return predictor_stage_->Select(options.predictors);
}

absl::StatusOr<const PredictorRuntime*> FacePipelineImpl::EmbeddingPredictor(
    const std::string& name) const {
  if (absl::Status s = AcceptingCalls(); !s.ok()) return s;
  return predictor_stage_->ForEmbedding(name, config_.default_embedding_predictor);
}

// ---------------------------------------------------------------------------
// Stages

Stage FacePipelineImpl::Read(ImageInput input) {
  auto shared = std::make_shared<ImageInput>(std::move(input));
  return [this, shared](const JobPtr& job, Continue next) {
    pool_.Post([this, job, shared, next = std::move(next)]() {
      if (absl::Status s = job->CheckAlive(); !s.ok()) return next(s);
      const absl::Time t0 = absl::Now();
      absl::StatusOr<cv::Mat> image =
          ReadImage(*shared, ReaderLimits{config_.reader.max_bytes, config_.reader.max_pixels});
      const absl::Duration d = absl::Now() - t0;
      job->AddTiming("reader", d);
      Observe("reader", "", d);
      if (!image.ok()) return next(image.status());
      job->image = *std::move(image);
      next(absl::OkStatus());
    });
  };
}

Stage FacePipelineImpl::Detect(float min_score, int max_faces) {
  return [this, min_score, max_faces](const JobPtr& job, Continue next) {
    detector_stage_->Run(job, min_score, max_faces, std::move(next));
  };
}

Stage FacePipelineImpl::SelectFaces(FaceSelection selection) {
  return [this, selection](const JobPtr& job, Continue next) {
    if (selection == FaceSelection::kWholeImage) {
      job->whole_image = true;
      Face face;
      face.detection.box =
          Box{0, 0, static_cast<float>(job->image.cols), static_cast<float>(job->image.rows)};
      job->faces.push_back(face);
      return next(absl::OkStatus());
    }
    detector_stage_->Run(
        job, config_.detector.min_score, config_.detector.max_faces,
        [job, selection, next](absl::Status s) {
          if (s.ok() && selection == FaceSelection::kLargest && job->faces.size() > 1) {
            auto largest = std::max_element(
                job->faces.begin(), job->faces.end(), [](const Face& a, const Face& b) {
                  return a.detection.box.area() < b.detection.box.area();
                });
            Face keep = std::move(*largest);
            job->faces.assign(1, std::move(keep));
          }
          next(s);
        });
  };
}

Stage FacePipelineImpl::Predict(std::vector<const PredictorRuntime*> predictors,
                                FaceFilter filter) {
  return [this, predictors = std::move(predictors), filter = std::move(filter)](const JobPtr& job,
                                                                                Continue next) {
    predictor_stage_->Run(
        job, predictors,
        [job, next](absl::Status s) {
          CompactPredictions(&job->faces);
          next(std::move(s));
        },
        filter);
  };
}

Stage FacePipelineImpl::Utilize(const AnalyzeOptions& options) {
  UtilizerRequest request;
  request.head_pose = config_.utilizers.head_pose;
  request.face_crops = options.return_face_crops;
  request.sharpness = options.compute_sharpness;
  request.annotated_image = options.return_annotated_image;
  return [this, request](const JobPtr& job, Continue next) {
    const absl::Time t0 = absl::Now();
    absl::StatusOr<UtilizerResult> result = RunUtilizers(job->image, request, &job->faces);
    if (!result.ok()) return next(result.status());
    if (result->ran) {
      const absl::Duration d = absl::Now() - t0;
      job->AddTiming("utilizer", d);
      Observe("utilizer", "", d);
    }
    job->annotated_jpeg = std::move(result->annotated_jpeg);
    next(absl::OkStatus());
  };
}

// ---------------------------------------------------------------------------
// RPCs

void FacePipelineImpl::Analyze(ImageInput image, AnalyzeOptions options, CallContext ctx,
                               std::function<void(absl::StatusOr<AnalyzeResult>)> done) {
  if (absl::Status s = AcceptingCalls(); !s.ok()) return Refuse(s, std::move(done));
  absl::StatusOr<std::vector<const PredictorRuntime*>> requested = RequestedPredictors(options);
  if (!requested.ok()) return Refuse(requested.status(), std::move(done));
  const float min_score =
      options.min_detection_score > 0 ? options.min_detection_score : config_.detector.min_score;
  const int max_faces = options.max_faces > 0
                            ? std::min(options.max_faces, config_.detector.max_faces)
                            : config_.detector.max_faces;
  auto job = std::make_shared<Job>();
  job->ctx = std::move(ctx);
  const bool return_embeddings = options.return_embeddings;
  RunStages(job,
            {Read(std::move(image)), Detect(min_score, max_faces),
             Predict(*std::move(requested), std::move(options.only_some_faces)),
             Utilize(options)},
            [job, return_embeddings, done = std::move(done)](absl::Status s) {
              if (!s.ok()) return done(s);
              if (!return_embeddings) {
                for (Face& face : job->faces) {
                  for (Prediction& p : face.predictions) {
                    for (HeadResult& h : p.heads) h.embedding.clear();
                  }
                }
              }
              AnalyzeResult result;
              result.width = job->image.cols;
              result.height = job->image.rows;
              result.faces = std::move(job->faces);
              result.timings = job->timings();
              result.annotated_jpeg = std::move(job->annotated_jpeg);
              done(std::move(result));
            });
}

void FacePipelineImpl::EmbedFaces(ImageInput image, FaceSelection selection,
                                  const PredictorRuntime* predictor, CallContext ctx,
                                  std::function<void(absl::Status, JobPtr)> done) {
  auto job = std::make_shared<Job>();
  job->ctx = std::move(ctx);
  RunStages(job, {Read(std::move(image)), SelectFaces(selection), Predict({predictor})},
            [job, done = std::move(done)](absl::Status s) { done(std::move(s), job); });
}

void FacePipelineImpl::Embed(ImageInput image, EmbedOptions options, CallContext ctx,
                             std::function<void(absl::StatusOr<EmbedResult>)> done) {
  absl::StatusOr<const PredictorRuntime*> p = EmbeddingPredictor(options.predictor);
  if (!p.ok()) return Refuse(p.status(), std::move(done));
  const PredictorRuntime* predictor = *p;
  EmbedFaces(std::move(image), options.selection, predictor, std::move(ctx),
             [predictor, done](absl::Status s, JobPtr job) {
               if (!s.ok()) return done(s);
               EmbedResult result;
               result.model = predictor->model.card.name;
               result.model_version = predictor->model.card.version;
               for (const Face& face : job->faces) {
                 const HeadResult* h = EmbeddingOf(face, predictor);
                 if (h == nullptr) continue;
                 result.faces.push_back(FaceEmbedding{face.detection.box, face.detection.score,
                                                      h->embedding, face.detection.truncated});
               }
               result.timings = job->timings();
               done(std::move(result));
             });
}

void FacePipelineImpl::Verify(VerifyInput a, VerifyInput b, VerifyOptions options,
                              CallContext ctx,
                              std::function<void(absl::StatusOr<VerifyResult>)> done) {
  absl::StatusOr<const PredictorRuntime*> p = EmbeddingPredictor(options.predictor);
  if (!p.ok()) return Refuse(p.status(), std::move(done));
  const PredictorRuntime* predictor = *p;
  for (const VerifyInput* side : {&a, &b}) {
    if (side->is_embedding &&
        static_cast<int64_t>(side->embedding.size()) != predictor->embedding_size) {
      return Refuse(
          WithReason(absl::InvalidArgumentError(absl::StrCat(
                         "embedding ", side == &a ? "a" : "b", " has ", side->embedding.size(),
                         " values; model '", predictor->model.card.name, "' makes ",
                         predictor->embedding_size)),
                     ErrorReason::kEmbeddingSizeMismatch),
          std::move(done));
    }
  }
  const float threshold =
      options.threshold != 0 ? options.threshold : predictor->config.verify_threshold;
  auto join = std::make_shared<VerifyJoin>(predictor->model.card.name,
                                           predictor->model.card.version, threshold,
                                           std::move(done));
  auto side_done = [join](int index, absl::Status s, std::vector<float> embedding,
                          std::optional<Box> box, std::vector<StageTiming> timings) {
    join->Side(index, std::move(s), std::move(embedding), box, std::move(timings));
  };
  VerifyInput* inputs[2] = {&a, &b};
  for (int i = 0; i < 2; ++i) {
    VerifyInput& side = *inputs[i];
    if (side.is_embedding) {
      pool_.Post([side_done, i, e = std::move(side.embedding)]() mutable {
        side_done(i, absl::OkStatus(), std::move(e), std::nullopt, {});
      });
      continue;
    }
    const FaceSelection selection = side.selection == FaceSelection::kWholeImage
                                        ? FaceSelection::kWholeImage
                                        : FaceSelection::kLargest;
    EmbedFaces(std::move(side.image), selection, predictor, ctx,
               [side_done, i, predictor](absl::Status s, JobPtr job) {
                 if (!s.ok()) return side_done(i, s, {}, std::nullopt, {});
                 const HeadResult* h =
                     job->faces.empty() ? nullptr : EmbeddingOf(job->faces.front(), predictor);
                 if (h == nullptr) {
                   return side_done(i,
                                    WithReason(absl::NotFoundError(absl::StrCat(
                                                   "no face found in image ", i == 0 ? "a" : "b",
                                                   " (if it is already a face crop, use selection "
                                                   "WHOLE_IMAGE)")),
                                               ErrorReason::kNoFace),
                                    {}, std::nullopt, {});
                 }
                 side_done(i, absl::OkStatus(), h->embedding, job->faces.front().detection.box,
                           job->timings());
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
