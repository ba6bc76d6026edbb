// FacePipeline: reader -> detector -> unifier -> predictors -> utilizers, as
// facetorch structures it, built from Config. The entry point of core/ for
// the gRPC layer.
//
// Every call is asynchronous: it returns at once and calls `done` exactly
// once, later, from a pipeline thread (never the caller's), so the gRPC layer
// holds no thread per waiting request. Model work goes through one
// BatchedModel per model, so faces from different requests share batches.
//
// Lifecycle (state()): Create() leaves it kWarming; Preheat() makes it
// kReady or kFailed; Shutdown() makes it kShuttingDown from any state, for
// good. Each change is a compare-and-swap from the state it expects, so a
// Preheat() that ends after a Shutdown() cannot make the pipeline ready again
// (the pattern of TF Serving's LoaderHarness).
//
// Thread-safety: all methods are safe to call concurrently after Create().
#ifndef FACESERVE_CORE_PIPELINE_FACE_PIPELINE_H_
#define FACESERVE_CORE_PIPELINE_FACE_PIPELINE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/batching/batched_model.h"
#include "core/config/config.h"
#include "core/model_loader.h"
#include "core/pipeline/call_context.h"
#include "core/pipeline/face_filter.h"
#include "core/pipeline/stage_observer.h"
#include "core/types.h"

namespace faceserve {

struct AnalyzeOptions {
  std::vector<std::string> predictors;  // empty: all configured (unless detect_only)
  bool detect_only = false;             // no predictor runs
  float min_detection_score = 0;        // 0: configured default
  int max_faces = 0;                    // 0: configured limit
  bool return_embeddings = false;
  bool return_annotated_image = false;
  bool return_face_crops = false;
  bool compute_sharpness = false;  // Face::sharpness (not in the API: streams ask for it)
  FaceFilter only_some_faces;      // not in the API either
};

struct AnalyzeResult {
  int width = 0, height = 0;
  std::vector<Face> faces;  // highest detection score first
  std::vector<StageTiming> timings;
  std::string annotated_jpeg;
};

enum class FaceSelection { kAll, kLargest, kWholeImage };

struct EmbedOptions {
  FaceSelection selection = FaceSelection::kAll;
  std::string predictor;  // empty: the default embedding predictor
};

struct FaceEmbedding {
  Box box;
  float detection_score = 0;
  std::vector<float> embedding;  // unit length
  bool truncated = false;        // Detection::truncated
};

struct EmbedResult {
  std::vector<FaceEmbedding> faces;
  std::string model, model_version;
  std::vector<StageTiming> timings;
};

// One side of a Verify: an image (its largest face, or the whole image) or
// an embedding computed earlier.
struct VerifyInput {
  bool is_embedding = false;
  std::vector<float> embedding;
  ImageInput image;
  FaceSelection selection = FaceSelection::kLargest;
};

struct VerifyOptions {
  std::string predictor;  // empty: the default embedding predictor
  float threshold = 0;    // 0: the predictor's configured threshold
};

struct VerifyResult {
  float similarity = 0;
  bool match = false;
  float threshold = 0;
  std::string model, model_version;
  std::optional<Box> box_a, box_b;
  std::vector<StageTiming> timings;
};

// Lifecycle of the models, feeding the health service.
enum class PipelineState { kLoading, kWarming, kReady, kFailed, kShuttingDown };

struct ModelInfo {
  std::string name, version, device, dtype, role;  // role: detector | predictor name
};

class FacePipeline {
 public:
  // Loads every configured model through `loader` and validates the
  // configuration against the model cards. Does not preheat.
  // `batch_observer` and `stage_observer` may be null; not owned.
  static absl::StatusOr<std::unique_ptr<FacePipeline>> Create(
      const Config& config, ModelLoader loader,
      BatchObserver* batch_observer = nullptr,
      StageObserver* stage_observer = nullptr);

  virtual ~FacePipeline() = default;

  // Runs every model at every batch size it can receive so the first real
  // request is not slow, then makes state() kReady (kFailed on an error,
  // returned). With device.preheat off it only makes the pipeline ready.
  // Between batch sizes it checks for Shutdown(): once shut down it stops
  // and returns CANCELLED, leaving state() kShuttingDown.
  virtual absl::Status Preheat() = 0;
  virtual PipelineState state() const = 0;
  virtual std::vector<ModelInfo> models() const = 0;
  // The configured predictor names.
  virtual std::vector<std::string> predictor_names() const = 0;
  // The embedding predictor `predictor` (empty: the default one), with the
  // errors of Embed: UNKNOWN_PREDICTOR, NOT_AN_EMBEDDING_PREDICTOR,
  // MODEL_NOT_CONFIGURED. Answers in any state.
  virtual absl::StatusOr<EmbeddingModelInfo> embedding_model(const std::string& predictor) const = 0;
  // Every configured embedding predictor.
  virtual std::vector<EmbeddingModelInfo> embedding_models() const = 0;

  virtual void Analyze(ImageInput image, AnalyzeOptions options, CallContext ctx,
                       std::function<void(absl::StatusOr<AnalyzeResult>)> done) = 0;
  virtual void Embed(ImageInput image, EmbedOptions options, CallContext ctx,
                     std::function<void(absl::StatusOr<EmbedResult>)> done) = 0;
  virtual void Verify(VerifyInput a, VerifyInput b, VerifyOptions options,
                      CallContext ctx,
                      std::function<void(absl::StatusOr<VerifyResult>)> done) = 0;

  // Stops accepting calls (UNAVAILABLE), finishes the ones in flight, stops
  // the batchers. Idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace faceserve

#endif  // FACESERVE_CORE_PIPELINE_FACE_PIPELINE_H_
