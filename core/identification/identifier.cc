#include "core/identification/identifier.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/error_reason.h"

namespace faceserve {
namespace {

// An image error that rejects one input of an Enroll, rather than failing
// the call (as the server's own errors do: not ready, queue full, deadline).
bool RejectsTheImage(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument ||
         ReasonOf(s) == ErrorReason::kImageTooLarge;
}

}  // namespace

std::vector<Identity> ToIdentities(std::vector<std::vector<SubjectMatch>> matches,
                                   float threshold) {
  std::vector<Identity> out(matches.size());
  for (size_t i = 0; i < matches.size(); ++i) {
    out[i].matches = std::move(matches[i]);
    out[i].threshold = threshold;
    out[i].identified = !out[i].matches.empty() && out[i].matches[0].similarity >= threshold;
  }
  return out;
}

const std::vector<float>* EmbeddingOf(const Face& face, const std::string& predictor) {
  for (const Prediction& p : face.predictions) {
    if (p.predictor != predictor) continue;
    for (const HeadResult& h : p.heads) {
      if (h.kind == HeadKind::kEmbedding) return &h.embedding;
    }
  }
  return nullptr;
}

absl::StatusOr<GalleryInfo> Identifier::CreateGallery(const std::string& name,
                                                      const std::string& predictor,
                                                      float threshold, IndexKind index) {
  absl::StatusOr<EmbeddingModelInfo> model = pipeline_->embedding_model(predictor);
  if (!model.ok()) return model.status();
  return galleries_->Create(name, DescriptorModel{model->model_id, model->dimension},
                            threshold > 0 ? threshold : model->verify_threshold, index);
}

absl::StatusOr<EmbeddingModelInfo> Identifier::PredictorFor(const std::string& gallery,
                                                            const GalleryBinding& binding) const {
  std::vector<std::string> made;
  for (const EmbeddingModelInfo& m : pipeline_->embedding_models()) {
    if (m.model_id == binding.model.id && m.dimension == binding.model.dimension) return m;
    made.push_back(m.model_id);
  }
  return WithReason(absl::FailedPreconditionError(absl::StrCat(
                        "gallery '", gallery, "' holds embeddings of ", binding.model.id,
                        "; this server's embedding predictors make ",
                        made.empty() ? "none" : absl::StrJoin(made, ", "))),
                    ErrorReason::kDescriptorMismatch);
}

absl::Status Identifier::CheckIdentify(const IdentifyOptions& identify) const {
  absl::StatusOr<GalleryBinding> binding = galleries_->Binding(identify.gallery);
  if (!binding.ok()) return binding.status();
  return PredictorFor(identify.gallery, *binding).status();
}

void Identifier::Run(ImageInput image, AnalyzeOptions options, IdentifyOptions identify,
                     bool only_embedding, CallContext ctx,
                     std::function<void(absl::StatusOr<IdentifiedAnalysis>)> done) {
  absl::StatusOr<GalleryBinding> binding = galleries_->Binding(identify.gallery);
  if (!binding.ok()) return done(binding.status());
  absl::StatusOr<EmbeddingModelInfo> model = PredictorFor(identify.gallery, *binding);
  if (!model.ok()) return done(model.status());
  if (only_embedding) {
    options.predictors = {model->predictor};
  } else if (!options.predictors.empty() &&
             std::find(options.predictors.begin(), options.predictors.end(), model->predictor) ==
          options.predictors.end()) {
    options.predictors.push_back(model->predictor);
  }
  options.return_embeddings = true;  // the server drops them unless asked
  const float threshold = identify.threshold > 0 ? identify.threshold : binding->threshold;
  const int top_k = std::max(1, identify.top_k);
  pipeline_->Analyze(
      std::move(image), std::move(options), std::move(ctx),
      [this, identify, threshold, top_k, model = *model,
       done = std::move(done)](absl::StatusOr<AnalyzeResult> result) mutable {
        if (!result.ok()) return done(result.status());
        std::vector<std::vector<float>> queries;
        for (const Face& face : result->faces) {
          const std::vector<float>* e = EmbeddingOf(face, model.predictor);
          if (e == nullptr) {
            return done(absl::InternalError(absl::StrCat("predictor '", model.predictor,
                                                         "' gave no embedding for a face")));
          }
          queries.push_back(*e);
        }
        auto analysis = std::make_shared<IdentifiedAnalysis>();
        analysis->analysis = *std::move(result);
        const absl::Time submitted = absl::Now();
        galleries_->Search(
            identify.gallery, model.model_id, std::move(queries), top_k,
            [analysis, threshold, submitted,
             done = std::move(done)](absl::StatusOr<SearchBatcher::Matches> matches) {
              if (!matches.ok()) return done(matches.status());
              analysis->identities = ToIdentities(*std::move(matches), threshold);
              analysis->analysis.timings.push_back(
                  StageTiming{"search", absl::ToDoubleSeconds(absl::Now() - submitted)});
              done(std::move(*analysis));
            });
      });
}

void Identifier::Search(std::vector<std::vector<float>> embeddings, IdentifyOptions identify,
                        std::function<void(absl::StatusOr<std::vector<Identity>>)> done) {
  absl::StatusOr<GalleryBinding> binding = galleries_->Binding(identify.gallery);
  if (!binding.ok()) return done(binding.status());
  const float threshold = identify.threshold > 0 ? identify.threshold : binding->threshold;
  galleries_->Search(identify.gallery, binding->model.id, std::move(embeddings),
                     std::max(1, identify.top_k),
                     [threshold, done = std::move(done)](
                         absl::StatusOr<SearchBatcher::Matches> matches) {
                       if (!matches.ok()) return done(matches.status());
                       done(ToIdentities(*std::move(matches), threshold));
                     });
}

void Identifier::Enroll(EnrollRequest request, std::optional<Idempotency> idempotency,
                        CallContext ctx, std::function<void(absl::StatusOr<EnrollResult>)> done) {
  absl::StatusOr<GalleryBinding> binding = galleries_->Binding(request.gallery);
  if (!binding.ok()) return done(binding.status());
  if (idempotency.has_value()) {
    absl::StatusOr<std::optional<std::string>> stored =
        galleries_->FindReceipt(request.gallery, idempotency->key, idempotency->request_hash);
    if (!stored.ok()) return done(stored.status());
    if (stored->has_value()) return done(EnrollResult{{}, *std::move(stored)});
  }
  std::vector<size_t> images;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    if (!request.inputs[i].is_embedding) images.push_back(i);
  }
  const DescriptorModel model = binding->model;
  if (images.empty()) {
    return Commit(std::move(request), std::move(idempotency), model, "", {}, std::move(done));
  }
  absl::StatusOr<EmbeddingModelInfo> predictor = PredictorFor(request.gallery, *binding);
  if (!predictor.ok()) return done(predictor.status());

  // Every image through the pipeline at once; the last to finish commits.
  struct Join {
    absl::Mutex mu;
    std::vector<absl::StatusOr<AnalyzeResult>> results ABSL_GUARDED_BY(mu);
    size_t left ABSL_GUARDED_BY(mu) = 0;
    EnrollRequest request;
    std::optional<Idempotency> idempotency;
    std::function<void(absl::StatusOr<EnrollResult>)> done;
  };
  auto join = std::make_shared<Join>();
  {
    absl::MutexLock lock(&join->mu);
    join->results.assign(request.inputs.size(), absl::UnknownError("not an image"));
    join->left = images.size();
  }
  AnalyzeOptions options;
  options.predictors = {predictor->predictor};
  if (!gate_.antispoof_predictor.empty()) options.predictors.push_back(gate_.antispoof_predictor);
  options.return_embeddings = true;
  std::vector<ImageInput> pixels;
  for (size_t i : images) pixels.push_back(std::move(request.inputs[i].image));
  join->request = std::move(request);
  join->idempotency = std::move(idempotency);
  join->done = std::move(done);
  for (size_t n = 0; n < images.size(); ++n) {
    const size_t input = images[n];
    pipeline_->Analyze(std::move(pixels[n]), options, ctx,
                       [this, join, input, model,
                        predictor = predictor->predictor](absl::StatusOr<AnalyzeResult> result) {
                         std::vector<absl::StatusOr<AnalyzeResult>> all;
                         {
                           absl::MutexLock lock(&join->mu);
                           join->results[input] = std::move(result);
                           if (--join->left > 0) return;
                           all = std::move(join->results);
                         }
                         Commit(std::move(join->request), std::move(join->idempotency), model,
                                predictor,
                                std::move(all), std::move(join->done));
                       });
  }
}

void Identifier::Commit(EnrollRequest request, std::optional<Idempotency> idempotency,
                        const DescriptorModel& model, const std::string& predictor,
                        std::vector<absl::StatusOr<AnalyzeResult>> analyses,
                        std::function<void(absl::StatusOr<EnrollResult>)> done) {
  EnrollOutcome outcome;
  outcome.items.resize(request.inputs.size());
  std::vector<std::vector<float>> embeddings;
  std::vector<size_t> accepted;  // input index of each embedding
  std::vector<std::string> why;
  ErrorMetadata rules;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    EnrollItem& item = outcome.items[i];
    if (request.inputs[i].is_embedding) {
      embeddings.push_back(std::move(request.inputs[i].embedding));
      accepted.push_back(i);
      continue;
    }
    const absl::StatusOr<AnalyzeResult>& analysis = analyses[i];
    if (!analysis.ok() && !RejectsTheImage(analysis.status())) return done(analysis.status());
    GateVerdict verdict;
    if (!analysis.ok()) {
      verdict.rejection = EnrollRejection{ReasonNameOf(analysis.status()),
                                          std::string(analysis.status().message()), 0, 0};
    } else {
      verdict = ChooseEnrollFace(analysis->faces, request.inputs[i].box, request.largest, gate_);
    }
    if (verdict.face < 0) {
      why.push_back(absl::StrCat("input ", i, ": ", verdict.rejection.rule, " (",
                                 verdict.rejection.message, ")"));
      rules[absl::StrCat("input.", i)] = verdict.rejection.rule;
      item.rejection = std::move(verdict.rejection);
      continue;
    }
    const Face& face = analysis->faces[verdict.face];
    const std::vector<float>* e = EmbeddingOf(face, predictor);
    if (e == nullptr) return done(absl::InternalError("the embedding predictor gave no embedding"));
    item.box = face.detection.box;
    embeddings.push_back(*e);
    accepted.push_back(i);
  }
  if (embeddings.empty()) {
    return done(WithReason(
        absl::FailedPreconditionError(absl::StrCat("nothing enrolled: ", absl::StrJoin(why, "; "))),
        ErrorReason::kEnrollRejected, rules));
  }
  // The response stored with an idempotency key is the one returned.
  auto fill_ids = [&accepted](EnrollOutcome* out, const std::vector<int64_t>& ids) {
    for (size_t k = 0; k < ids.size() && k < accepted.size(); ++k) {
      out->items[accepted[k]].face_id = ids[k];
    }
  };
  std::optional<EnrollReceipt> receipt;
  if (idempotency.has_value()) {
    receipt = EnrollReceipt{idempotency->key, idempotency->request_hash,
                            [&](const std::vector<int64_t>& ids) {
                              EnrollOutcome stored = outcome;
                              fill_ids(&stored, ids);
                              return idempotency->serialize(stored);
                            }};
  }
  absl::StatusOr<std::vector<int64_t>> ids =
      galleries_->AddFaces(request.gallery, request.subject, request.metadata, model, embeddings,
                           receipt.has_value() ? &*receipt : nullptr);
  if (!ids.ok() && idempotency.has_value() &&
      ReasonOf(ids.status()) == ErrorReason::kIdempotencyKeyReused) {
    // A concurrent retry with the same key committed first: answer as it did.
    absl::StatusOr<std::optional<std::string>> stored =
        galleries_->FindReceipt(request.gallery, idempotency->key, idempotency->request_hash);
    if (!stored.ok()) return done(stored.status());
    if (stored->has_value()) return done(EnrollResult{{}, *std::move(stored)});
  }
  if (!ids.ok()) return done(ids.status());
  fill_ids(&outcome, *ids);
  done(EnrollResult{std::move(outcome), std::nullopt});
}

}  // namespace faceserve
