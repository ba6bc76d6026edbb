// Identifier: the face pipeline and the galleries together (issue 27).
// Identify (detect, embed, search), Analyze with identification, Enroll
// from images through the quality gate, and gallery creation bound to an
// embedding predictor's model. Everything gRPC-free; server/ converts.
//
// Asynchronous like FacePipeline: `done` runs exactly once on a pipeline or
// search thread. Enroll's database write (an fsync) runs on the pipeline
// thread that finished the last image.
//
// Thread-safety: all methods may be called concurrently. `pipeline` and
// `galleries` are not owned and must outlive the Identifier.
#ifndef FACESERVE_CORE_IDENTIFICATION_IDENTIFIER_H_
#define FACESERVE_CORE_IDENTIFICATION_IDENTIFIER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config/config.h"
#include "core/gallery/galleries.h"
#include "core/identification/enroll_gate.h"
#include "core/pipeline/face_pipeline.h"

namespace faceserve {

struct IdentifyOptions {
  std::string gallery;
  int top_k = 1;
  float threshold = 0;  // 0: the gallery's
};

struct Identity {
  std::vector<SubjectMatch> matches;  // best first, distinct subjects
  bool identified = false;            // matches[0].similarity >= threshold
  float threshold = 0;
};

// Analyze's result with one identity per face (same order).
struct IdentifiedAnalysis {
  AnalyzeResult analysis;
  std::vector<Identity> identities;
};

// One thing to enroll.
struct EnrollInput {
  bool is_embedding = false;
  std::vector<float> embedding;
  ImageInput image;
  std::optional<Box> box;
};

struct EnrollRequest {
  std::string gallery, subject;
  std::vector<EnrollInput> inputs;
  Metadata metadata;
  bool largest = false;
};

// Per input, in order: the new face's id, or why it was rejected.
struct EnrollItem {
  int64_t face_id = 0;
  std::optional<EnrollRejection> rejection;
  std::optional<Box> box;  // the face enrolled from an image
};

struct EnrollOutcome {
  std::vector<EnrollItem> items;
};

class Identifier {
 public:
  Identifier(FacePipeline* pipeline, Galleries* galleries, EnrollGateConfig gate)
      : pipeline_(pipeline), galleries_(galleries), gate_(std::move(gate)) {}

  // A gallery for `predictor`'s model (empty: the default embedding
  // predictor); threshold 0: the predictor's verify_threshold.
  absl::StatusOr<GalleryInfo> CreateGallery(const std::string& name, const std::string& predictor,
                                            float threshold, IndexKind index = IndexKind::kAuto);

  // Analyze (with `options`) plus each face searched in `identify.gallery`.
  // The gallery's embedding predictor runs whatever `options.predictors`
  // says. GALLERY_NOT_FOUND and DESCRIPTOR_MISMATCH (no configured predictor
  // makes the gallery's model) before any model runs.
  void AnalyzeAndIdentify(ImageInput image, AnalyzeOptions options, IdentifyOptions identify,
                          CallContext ctx,
                          std::function<void(absl::StatusOr<IdentifiedAnalysis>)> done) {
    Run(std::move(image), std::move(options), std::move(identify), /*only_embedding=*/false,
        std::move(ctx), std::move(done));
  }
  // Identify: as AnalyzeAndIdentify with only the embedding predictor (and
  // whatever it needs) run; `options` gives the detection limits.
  void Identify(ImageInput image, AnalyzeOptions options, IdentifyOptions identify,
                CallContext ctx, std::function<void(absl::StatusOr<IdentifiedAnalysis>)> done) {
    Run(std::move(image), std::move(options), std::move(identify), /*only_embedding=*/true,
        std::move(ctx), std::move(done));
  }

  // What AnalyzeAndIdentify would refuse before running a model
  // (GALLERY_NOT_FOUND, DESCRIPTOR_MISMATCH): a stream checks once, at its
  // start.
  absl::Status CheckIdentify(const IdentifyOptions& identify) const;

  // `embeddings` searched in `identify.gallery` (of the gallery's model).
  void Search(std::vector<std::vector<float>> embeddings, IdentifyOptions identify,
              std::function<void(absl::StatusOr<std::vector<Identity>>)> done);

  // Runs the images through the pipeline and the gate, then adds every
  // accepted face in one transaction. ENROLL_REJECTED (FAILED_PRECONDITION,
  // metadata "input.i" = rule) when none was accepted. With an
  // `idempotency_key`, a stored response for it is returned as it is
  // (`replayed` set) and the new one is stored with the faces:
  // `serialize` turns an outcome into the bytes stored, `request_hash`
  // fingerprints the request.
  struct Idempotency {
    std::string key, request_hash;
    std::function<std::string(const EnrollOutcome&)> serialize;
  };
  struct EnrollResult {
    EnrollOutcome outcome;
    std::optional<std::string> replayed;  // the stored response's bytes
  };
  void Enroll(EnrollRequest request, std::optional<Idempotency> idempotency, CallContext ctx,
              std::function<void(absl::StatusOr<EnrollResult>)> done);

 private:
  // The configured embedding predictor that makes `binding`'s model.
  absl::StatusOr<EmbeddingModelInfo> PredictorFor(const std::string& gallery,
                                                  const GalleryBinding& binding) const;
  void Run(ImageInput image, AnalyzeOptions options, IdentifyOptions identify,
           bool only_embedding, CallContext ctx,
           std::function<void(absl::StatusOr<IdentifiedAnalysis>)> done);
  // Enroll's second half: gate results in, one transaction out. `predictor`
  // made the images' embeddings ("" when there were none).
  void Commit(EnrollRequest request, std::optional<Idempotency> idempotency,
              const DescriptorModel& model, const std::string& predictor,
              std::vector<absl::StatusOr<AnalyzeResult>> analyses,
              std::function<void(absl::StatusOr<EnrollResult>)> done);

  FacePipeline* const pipeline_;
  Galleries* const galleries_;
  const EnrollGateConfig gate_;
};

// Identities from search results at `threshold`.
std::vector<Identity> ToIdentities(std::vector<std::vector<SubjectMatch>> matches,
                                   float threshold);

// The embedding of `predictor` in `face`, or null.
const std::vector<float>* EmbeddingOf(const Face& face, const std::string& predictor);

}  // namespace faceserve

#endif  // FACESERVE_CORE_IDENTIFICATION_IDENTIFIER_H_
