// FakePipeline: a FacePipeline without models, for tests of the layers above
// core/ (the gRPC service, the server lifecycle, clients).
//
// It keeps FacePipeline's contract: every call returns at once and calls
// `done` exactly once, later, from the fake's own worker thread (never the
// caller's). Results are canned (settable; the defaults below cover every
// HeadKind), every call is recorded with its inputs and CallContext, and
// calls can be held back (Hold()/Release()) to test concurrency limits,
// deadlines and graceful shutdown. While held, a call whose is_cancelled()
// turns true or whose deadline passes is failed with CANCELLED /
// DEADLINE_EXCEEDED, as the real batcher would.
//
// Thread-safety: every method is safe to call concurrently.
#ifndef FACESERVE_TESTS_TESTING_FAKE_PIPELINE_H_
#define FACESERVE_TESTS_TESTING_FAKE_PIPELINE_H_

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/error_reason.h"
#include "core/pipeline/face_pipeline.h"
#include "core/types.h"

namespace faceserve {
namespace testing {

// A face with one prediction per HeadKind: "expression" (classification),
// "action_units" (multi-label), "age" (regression), "embedding" (128 floats)
// and "landmarks68" (landmarks).
inline Face CannedFace(float x = 10) {
  Face face;
  face.detection.box = {x, 20, x + 100, 140};
  face.detection.score = 0.98f;
  face.detector_model = "ssd_mobilenetv1";
  for (int i = 0; i < 5; ++i) face.landmarks5.push_back({x + 10.0f * i, 50.0f + i});
  for (int i = 0; i < 68; ++i) face.landmarks68.push_back({x + i, 60.0f + i});

  Prediction expression{"expression", "face_expression", "1.0.0", {}};
  HeadResult cls;
  cls.name = "expression";
  cls.kind = HeadKind::kClassification;
  cls.scores = {{"neutral", 0.1f}, {"happy", 0.8f}, {"sad", 0.1f}};
  cls.label = "happy";
  cls.label_score = 0.8f;
  expression.heads.push_back(cls);
  face.predictions.push_back(expression);

  Prediction aus{"action_units", "au_net", "0.3.0", {}};
  HeadResult multi;
  multi.name = "action_units";
  multi.kind = HeadKind::kMultiLabel;
  multi.scores = {{"AU01", 0.7f}, {"AU02", 0.2f}, {"AU12", 0.9f}};
  multi.active_labels = {"AU01", "AU12"};
  multi.threshold = 0.5f;
  aus.heads.push_back(multi);
  face.predictions.push_back(aus);

  Prediction age{"age_gender", "age_gender_model", "1.0.0", {}};
  HeadResult reg;
  reg.name = "age";
  reg.kind = HeadKind::kRegression;
  reg.values = {{"age_years", 31.5f}};
  age.heads.push_back(reg);
  face.predictions.push_back(age);

  Prediction recognition{"recognition", "face_recognition", "1.0.0", {}};
  HeadResult emb;
  emb.name = "embedding";
  emb.kind = HeadKind::kEmbedding;
  emb.embedding.assign(128, 0.0f);
  emb.embedding[0] = 1.0f;  // unit length
  recognition.heads.push_back(emb);
  face.predictions.push_back(recognition);

  Prediction lm{"landmarks68", "face_landmark_68", "1.0.0", {}};
  HeadResult pts;
  pts.name = "landmarks";
  pts.kind = HeadKind::kLandmarks;
  for (int i = 0; i < 68; ++i) pts.points.push_back({x + i, 60.0f + i});
  lm.heads.push_back(pts);
  face.predictions.push_back(lm);

  Prediction mesh{"facemesh", "hm_facemesh", "1.0.0", {}};
  HeadResult mesh_points;
  mesh_points.name = "mesh";
  mesh_points.kind = HeadKind::kLandmarks3d;
  mesh_points.points = {{x + 1.5f, 70.25f}, {x + 9.0f, 71.5f}, {x + 4.0f, 90.0f}};
  mesh_points.depths = {-3.5f, 0.25f, 12.0f};
  mesh.heads.push_back(mesh_points);
  face.predictions.push_back(mesh);
  return face;
}

inline AnalyzeResult CannedAnalyzeResult() {
  AnalyzeResult r;
  r.width = 640;
  r.height = 480;
  r.faces = {CannedFace(10), CannedFace(300)};
  r.faces[1].detection.score = 0.75f;
  r.timings = {{"reader", 0.001}, {"detector", 0.01}, {"predictor/expression", 0.002}};
  return r;
}

inline EmbedResult CannedEmbedResult() {
  EmbedResult r;
  FaceEmbedding f;
  f.box = {10, 20, 110, 140};
  f.detection_score = 0.98f;
  f.embedding.assign(128, 0.0f);
  f.embedding[1] = 1.0f;
  r.faces.push_back(f);
  r.model = "face_recognition";
  r.model_version = "1.0.0";
  r.timings = {{"reader", 0.001}, {"predictor/recognition", 0.003}};
  return r;
}

inline VerifyResult CannedVerifyResult() {
  VerifyResult r;
  r.similarity = 0.83f;
  r.match = true;
  r.threshold = 0.6f;
  r.model = "face_recognition";
  r.model_version = "1.0.0";
  r.box_a = Box{1, 2, 3, 4};
  r.timings = {{"predictor/recognition", 0.004}};
  return r;
}

class FakePipeline : public FacePipeline {
 public:
  // What one call received.
  struct Received {
    std::string rpc;  // "Analyze", "Embed", "Verify"
    CallContext ctx;
    ImageInput image;         // Analyze, Embed
    AnalyzeOptions analyze;   // Analyze
    EmbedOptions embed;       // Embed
    VerifyInput a, b;         // Verify
    VerifyOptions verify;     // Verify
    absl::Time received_at;
  };

  FakePipeline() : worker_([this] { Work(); }) {}
  ~FakePipeline() override {
    Shutdown();
    {
      absl::MutexLock lock(&mu_);
      exit_ = true;
    }
    worker_.join();
  }

  // --- Configuration -------------------------------------------------------
  void set_state(PipelineState state) {
    absl::MutexLock lock(&mu_);
    state_ = state;
  }
  void set_preheat_status(absl::Status status) {
    absl::MutexLock lock(&mu_);
    preheat_status_ = std::move(status);
  }
  void set_analyze_result(absl::StatusOr<AnalyzeResult> r) {
    absl::MutexLock lock(&mu_);
    analyze_result_ = std::move(r);
  }
  void set_embed_result(absl::StatusOr<EmbedResult> r) {
    absl::MutexLock lock(&mu_);
    embed_result_ = std::move(r);
  }
  void set_verify_result(absl::StatusOr<VerifyResult> r) {
    absl::MutexLock lock(&mu_);
    verify_result_ = std::move(r);
  }
  void set_models(std::vector<ModelInfo> models) {
    absl::MutexLock lock(&mu_);
    models_ = std::move(models);
  }

  // While held, calls are queued and not completed (except when cancelled or
  // past their deadline). Release() completes the queued ones and stops
  // holding.
  void Hold() {
    absl::MutexLock lock(&mu_);
    held_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    held_ = false;
  }

  // Waits until `n` calls are queued (received, not yet completed).
  bool WaitForQueued(int n, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return static_cast<int>(queue_.size()) >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  int queued() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(queue_.size());
  }

  // --- Records -------------------------------------------------------------
  std::vector<Received> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int num_calls() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(calls_.size());
  }
  Received last_call() const {
    absl::MutexLock lock(&mu_);
    return calls_.empty() ? Received{} : calls_.back();
  }
  int preheat_calls() const {
    absl::MutexLock lock(&mu_);
    return preheat_calls_;
  }
  bool shut_down() const {
    absl::MutexLock lock(&mu_);
    return shut_down_;
  }

  // --- FacePipeline ----------------------------------------------------------
  absl::Status Preheat() override {
    absl::MutexLock lock(&mu_);
    ++preheat_calls_;
    state_ = preheat_status_.ok() ? PipelineState::kReady : PipelineState::kFailed;
    return preheat_status_;
  }
  PipelineState state() const override {
    absl::MutexLock lock(&mu_);
    return state_;
  }
  std::vector<ModelInfo> models() const override {
    absl::MutexLock lock(&mu_);
    return models_;
  }
  std::vector<std::string> predictor_names() const override {
    return {"expression", "action_units", "age_gender", "recognition", "landmarks68"};
  }
  // "recognition" makes the fake faces' 128-value embeddings.
  absl::StatusOr<EmbeddingModelInfo> embedding_model(const std::string& predictor) const override {
    if (!predictor.empty() && predictor != "recognition") {
      return WithReason(absl::InvalidArgumentError("unknown predictor '" + predictor + "'"),
                        ErrorReason::kUnknownPredictor);
    }
    return embedding_models().front();
  }
  std::vector<EmbeddingModelInfo> embedding_models() const override {
    return {EmbeddingModelInfo{"recognition", "face_recognition@1.0.0", 128, 0.5f}};
  }

  void Analyze(ImageInput image, AnalyzeOptions options, CallContext ctx,
               std::function<void(absl::StatusOr<AnalyzeResult>)> done) override {
    Received r;
    r.rpc = "Analyze";
    r.image = std::move(image);
    r.analyze = std::move(options);
    absl::MutexLock lock(&mu_);
    Enqueue(std::move(r), std::move(ctx), analyze_result_, std::move(done));
  }
  void Embed(ImageInput image, EmbedOptions options, CallContext ctx,
             std::function<void(absl::StatusOr<EmbedResult>)> done) override {
    Received r;
    r.rpc = "Embed";
    r.image = std::move(image);
    r.embed = std::move(options);
    absl::MutexLock lock(&mu_);
    Enqueue(std::move(r), std::move(ctx), embed_result_, std::move(done));
  }
  void Verify(VerifyInput a, VerifyInput b, VerifyOptions options, CallContext ctx,
              std::function<void(absl::StatusOr<VerifyResult>)> done) override {
    Received r;
    r.rpc = "Verify";
    r.a = std::move(a);
    r.b = std::move(b);
    r.verify = std::move(options);
    absl::MutexLock lock(&mu_);
    Enqueue(std::move(r), std::move(ctx), verify_result_, std::move(done));
  }

  // Fails queued calls with UNAVAILABLE, then every later call too.
  void Shutdown() override {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    state_ = PipelineState::kShuttingDown;
  }

 private:
  struct Item {
    CallContext ctx;
    std::function<void()> complete;                // with the canned result
    std::function<void(absl::Status)> fail;        // with an error
  };

  template <typename R>
  void Enqueue(Received r, CallContext ctx, const absl::StatusOr<R>& result,
               std::function<void(absl::StatusOr<R>)> done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    r.ctx = ctx;
    r.received_at = absl::Now();
    calls_.push_back(std::move(r));
    auto shared_done = std::make_shared<std::function<void(absl::StatusOr<R>)>>(std::move(done));
    Item item;
    item.ctx = std::move(ctx);
    item.complete = [shared_done, result]() { (*shared_done)(result); };
    item.fail = [shared_done](absl::Status s) { (*shared_done)(std::move(s)); };
    queue_.push_back(std::move(item));
  }

  void Work() {
    for (;;) {
      std::vector<std::pair<Item, absl::Status>> ready;  // status OK: complete
      {
        absl::MutexLock lock(&mu_);
        auto has_items = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return exit_ || !queue_.empty();
        };
        auto releasable = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return exit_ || !held_ || shut_down_;
        };
        mu_.Await(absl::Condition(&has_items));
        // Held items are re-checked for cancellation every few milliseconds.
        mu_.AwaitWithTimeout(absl::Condition(&releasable), absl::Milliseconds(5));
        if (exit_ && queue_.empty()) return;
        const absl::Time now = absl::Now();
        for (auto it = queue_.begin(); it != queue_.end();) {
          absl::Status status;
          if (shut_down_) {
            status = absl::UnavailableError("pipeline shut down");
          } else if (it->ctx.is_cancelled && it->ctx.is_cancelled()) {
            status = absl::CancelledError("cancelled by the client");
          } else if (now > it->ctx.deadline) {
            status = absl::DeadlineExceededError("deadline exceeded while queued");
          } else if (held_) {
            ++it;
            continue;
          }
          ready.emplace_back(std::move(*it), status);
          it = queue_.erase(it);
        }
      }
      for (auto& [item, status] : ready) {  // outside the lock, on this thread
        if (status.ok()) {
          item.complete();
        } else {
          item.fail(status);
        }
      }
    }
  }

  mutable absl::Mutex mu_;
  PipelineState state_ ABSL_GUARDED_BY(mu_) = PipelineState::kReady;
  absl::Status preheat_status_ ABSL_GUARDED_BY(mu_);
  absl::StatusOr<AnalyzeResult> analyze_result_ ABSL_GUARDED_BY(mu_) = CannedAnalyzeResult();
  absl::StatusOr<EmbedResult> embed_result_ ABSL_GUARDED_BY(mu_) = CannedEmbedResult();
  absl::StatusOr<VerifyResult> verify_result_ ABSL_GUARDED_BY(mu_) = CannedVerifyResult();
  std::vector<ModelInfo> models_ ABSL_GUARDED_BY(mu_);
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool exit_ ABSL_GUARDED_BY(mu_) = false;
  int preheat_calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<Received> calls_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;  // last: starts after every member is constructed
};

}  // namespace testing
}  // namespace faceserve

#endif  // FACESERVE_TESTS_TESTING_FAKE_PIPELINE_H_
