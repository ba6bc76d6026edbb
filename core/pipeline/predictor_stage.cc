#include "core/pipeline/predictor_stage.h"

#include <map>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/error_reason.h"
#include "core/predictor/head_postprocess.h"
#include "core/unifier/crop_policy.h"

namespace faceserve {

// Shared by both phases of one Run.
struct PredictorStage::RunState {
  absl::Duration unifier_time;  // written by one phase at a time, before it submits
  // The predictor run on some faces only, and which (FaceFilter).
  std::string filtered;
  std::vector<bool> keep;
  bool Skips(const PredictorRuntime* p, size_t face) const {
    return !filtered.empty() && p->config.name == filtered && face < keep.size() && !keep[face];
  }
};

namespace {

// A client-chosen name as quoted in an error message: at most 64 bytes, so
// that a hostile name cannot blow up the status (and the grpc-message
// header, which clients refuse beyond a few KiB).
std::string ClientName(const std::string& name) {
  constexpr size_t kMax = 64;
  if (name.size() <= kMax) return name;
  return absl::StrCat(name.substr(0, kMax), "... (", name.size(), " bytes)");
}

// Shared by every item of one phase; the last item to finish continues.
struct PhaseState {
  absl::Mutex mu;
  int outstanding ABSL_GUARDED_BY(mu) = 0;
  absl::Status error ABSL_GUARDED_BY(mu);
  std::map<const PredictorRuntime*, absl::Time> first_submit ABSL_GUARDED_BY(mu);
  std::map<const PredictorRuntime*, absl::Time> last_done ABSL_GUARDED_BY(mu);
};

// The model's outputs for one face as a Prediction, or why not.
absl::StatusOr<Prediction> DecodePrediction(const PredictorRuntime& p,
                                            const std::vector<Tensor>& out,
                                            const CropToImage& crop_to_image) {
  Prediction prediction;
  prediction.predictor = p.config.name;
  prediction.model = p.model.card.name;
  prediction.model_version = p.model.card.version;
  for (const HeadConfig& head : p.config.heads) {
    if (head.output >= static_cast<int>(out.size())) {
      return absl::InternalError(
          absl::StrCat("model '", p.model.card.name, "' returned ", out.size(), " outputs"));
    }
    absl::StatusOr<HeadResult> r =
        PostprocessHead(head, out[head.output], crop_to_image, p.crop_size);
    if (!r.ok()) return r.status();
    prediction.heads.push_back(*std::move(r));
  }
  return prediction;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PredictorStage>> PredictorStage::Create(
    std::vector<std::unique_ptr<PredictorRuntime>> predictors, bool detector_gives_5,
    ThreadPool* pool, StageObserver* observer) {
  std::unique_ptr<PredictorStage> stage(new PredictorStage(pool, observer));
  for (size_t i = 0; i < predictors.size(); ++i) {
    predictors[i]->slot = i;
    if (predictors[i]->landmark_head >= 0 && stage->landmark_source_ == nullptr) {
      stage->landmark_source_ = predictors[i].get();
    }
  }
  for (auto& p : predictors) {
    p->needs_landmarks = p.get() != stage->landmark_source_ &&
                         CropNeedsLandmarks68(p->config.crop, detector_gives_5);
    if (p->needs_landmarks && stage->landmark_source_ == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("predictor '", p->config.name,
                       "' crops from landmarks but no predictor has a landmarks head"));
    }
  }
  stage->predictors_ = std::move(predictors);
  return stage;
}

const PredictorRuntime* PredictorStage::Find(const std::string& name) const {
  for (const auto& p : predictors_) {
    if (p->config.name == name) return p.get();
  }
  return nullptr;
}

absl::StatusOr<std::vector<const PredictorRuntime*>> PredictorStage::Select(
    const std::vector<std::string>& names) const {
  std::vector<const PredictorRuntime*> selected;
  if (names.empty()) {
    for (const auto& p : predictors_) selected.push_back(p.get());
    return selected;
  }
  std::set<std::string> seen;
  for (const std::string& name : names) {
    const PredictorRuntime* p = Find(name);
    if (p == nullptr) {
      std::vector<std::string> configured;
      for (const auto& q : predictors_) configured.push_back(q->config.name);
      return WithReason(absl::InvalidArgumentError(
                            absl::StrCat("unknown predictor '", ClientName(name),
                                         "' (configured: ", absl::StrJoin(configured, ", "), ")")),
                        ErrorReason::kUnknownPredictor);
    }
    if (seen.insert(name).second) selected.push_back(p);
  }
  return selected;
}

absl::StatusOr<const PredictorRuntime*> PredictorStage::ForEmbedding(
    const std::string& name, const std::string& default_name) const {
  if (!name.empty()) {
    const PredictorRuntime* p = Find(name);
    if (p == nullptr) {
      return WithReason(
          absl::InvalidArgumentError(absl::StrCat("unknown predictor '", ClientName(name), "'")),
          ErrorReason::kUnknownPredictor);
    }
    if (p->embedding_head < 0) {
      return WithReason(
          absl::InvalidArgumentError(absl::StrCat("predictor '", name, "' has no embedding head")),
          ErrorReason::kNotAnEmbeddingPredictor);
    }
    return p;
  }
  if (!default_name.empty()) return Find(default_name);
  for (const auto& p : predictors_) {
    if (p->embedding_head >= 0) return p.get();
  }
  return WithReason(absl::FailedPreconditionError("no embedding predictor is configured"),
                    ErrorReason::kModelNotConfigured);
}

std::vector<EmbeddingModelInfo> PredictorStage::EmbeddingModels() const {
  std::vector<EmbeddingModelInfo> out;
  for (const auto& p : predictors_) {
    if (p->embedding_head >= 0) out.push_back(DescribeEmbedding(*p));
  }
  return out;
}

PredictorStage::Phases PredictorStage::Plan(
    const std::vector<const PredictorRuntime*>& requested) const {
  Phases phases;
  bool need_source = false, have_source = false;
  for (const PredictorRuntime* p : requested) {
    if (p->needs_landmarks) {
      need_source = true;
      phases.second.push_back(p);
    } else {
      phases.first.push_back(p);
      if (p == landmark_source_) have_source = true;
    }
  }
  if (need_source && !have_source) phases.first.insert(phases.first.begin(), landmark_source_);
  return phases;
}

void PredictorStage::Run(const JobPtr& job, std::vector<const PredictorRuntime*> requested,
                         Continue next, FaceFilter filter) const {
  auto phases = std::make_shared<Phases>(Plan(requested));
  auto run = std::make_shared<RunState>();
  if (!filter.predictor.empty() && filter.keep) {
    run->filtered = filter.predictor;
    run->keep = filter.keep(job->faces);
    if (run->keep.size() != job->faces.size()) run->keep.clear();  // keeps them all
  }
  RunStages(job,
            {
                [this, phases, run](const JobPtr& j, Continue n) {
                  RunPhase(j, phases->first, run, std::move(n));
                },
                [this](const JobPtr& j, Continue n) {
                  DeriveLandmarks(j.get());
                  n(absl::OkStatus());
                },
                [this, phases, run](const JobPtr& j, Continue n) {
                  RunPhase(j, phases->second, run, std::move(n));
                },
            },
            [this, job, run, next](absl::Status s) {
              // Every crop of both phases was made before its phase
              // submitted, so the total is final here.
              job->AddTiming("unifier", run->unifier_time);
              Observe("unifier", "", run->unifier_time);
              next(std::move(s));
            });
}

void PredictorStage::RunPhase(const JobPtr& job,
                              const std::vector<const PredictorRuntime*>& predictors,
                              const std::shared_ptr<RunState>& run, Continue next) const {
  if (job->faces.empty() || predictors.empty()) return next(absl::OkStatus());
  for (Face& face : job->faces) face.predictions.resize(predictors_.size());

  // The unifier: every crop first, so that its time is complete before any
  // model result can end the phase.
  struct Item {
    size_t face;
    const PredictorRuntime* predictor;
    FaceCrop crop;
  };
  std::vector<Item> items;
  const absl::Time c0 = absl::Now();
  for (size_t f = 0; f < job->faces.size(); ++f) {
    for (const PredictorRuntime* p : predictors) {
      if (run->Skips(p, f)) continue;
      absl::StatusOr<FaceCrop> crop =
          CropForPredictor(job->image, job->whole_image, job->faces[f], p->config.crop,
                           p->crop_size, p->config.name);
      if (!crop.ok()) return next(crop.status());
      items.push_back(Item{f, p, *std::move(crop)});
    }
  }
  run->unifier_time += absl::Now() - c0;
  if (items.empty()) return next(absl::OkStatus());  // every face filtered out

  auto state = std::make_shared<PhaseState>();
  {
    absl::MutexLock lock(&state->mu);
    state->outstanding = static_cast<int>(items.size());
  }
  auto finish_one = [this, job, state, next](const PredictorRuntime* p, absl::Status s) {
    {
      absl::MutexLock lock(&state->mu);
      if (!s.ok() && state->error.ok()) state->error = s;
      state->last_done[p] = absl::Now();
      if (--state->outstanding > 0) return;
    }
    pool_->Post([this, job, state, next]() {
      absl::Status error;
      {
        absl::MutexLock lock(&state->mu);
        for (const auto& [p, t0] : state->first_submit) {
          const absl::Duration d = state->last_done[p] - t0;
          job->AddTiming("predictor/" + p->config.name, d);
          Observe("predictor", p->config.name, d);
        }
        error = state->error;
      }
      next(error);
    });
  };
  for (Item& item : items) {
    const PredictorRuntime* p = item.predictor;
    {
      absl::MutexLock lock(&state->mu);
      state->first_submit.emplace(p, absl::Now());
    }
    const cv::Matx23f& m = item.crop.crop_to_image;
    const CropToImage crop_to_image{m(0, 0), m(0, 1), m(0, 2), m(1, 0), m(1, 1), m(1, 2)};
    const size_t f = item.face;
    absl::Status submitted = p->model.batcher->Submit(
        ToTensorCHW(item.crop.rgb), job->ctx.deadline, job->ctx.is_cancelled,
        [job, p, f, crop_to_image, finish_one](absl::StatusOr<std::vector<Tensor>> out) {
          if (!out.ok()) return finish_one(p, out.status());
          absl::StatusOr<Prediction> prediction = DecodePrediction(*p, *out, crop_to_image);
          if (!prediction.ok()) return finish_one(p, prediction.status());
          // Distinct slots per (face, predictor): no lock needed.
          job->faces[f].predictions[p->slot] = *std::move(prediction);
          finish_one(p, absl::OkStatus());
        });
    if (!submitted.ok()) finish_one(p, submitted);
  }
}

void PredictorStage::DeriveLandmarks(Job* job) const {
  if (landmark_source_ == nullptr) return;
  const size_t slot = landmark_source_->slot;
  const int h = landmark_source_->landmark_head;
  for (Face& face : job->faces) {
    if (face.predictions.size() <= slot) continue;
    const Prediction& p = face.predictions[slot];
    if (h < 0 || static_cast<size_t>(h) >= p.heads.size()) continue;
    const std::vector<Point>& points = p.heads[h].points;
    if (points.size() == 68) {
      face.landmarks68 = points;
      if (face.landmarks5.size() != 5) face.landmarks5 = Landmarks5From68(points);
    }
  }
}

void CompactPredictions(std::vector<Face>* faces) {
  for (Face& face : *faces) {
    std::vector<Prediction> kept;
    for (Prediction& p : face.predictions) {
      if (!p.predictor.empty()) kept.push_back(std::move(p));
    }
    face.predictions = std::move(kept);
  }
}

}  // namespace faceserve
