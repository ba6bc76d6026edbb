// FacePipeline with fake models: the stage wiring, options, errors and
// batching across requests, without LibTorch.
#include "core/pipeline/face_pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>
#include <utility>

#include "core/error_reason.h"
#include "tests/testing/fake_model_runner.h"
#include "tests/testing/fake_models.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;

class FacePipelineTest : public ::testing::Test {
 protected:
  // The pipeline goes first: it holds the fakes' runners.
  void TearDown() override { pipeline_.reset(); }

  ModelLoader Loader() { return fakes_.Loader(); }

  void CreateAndPreheat() {
    absl::StatusOr<std::unique_ptr<FacePipeline>> p = FacePipeline::Create(config_, Loader());
    ASSERT_TRUE(p.ok()) << p.status();
    pipeline_ = *std::move(p);
    ASSERT_TRUE(pipeline_->Preheat().ok());
  }

  static ImageInput Png(int width, int height, cv::Scalar rgb) {
    cv::Mat image(height, width, CV_8UC3, rgb);
    std::vector<uchar> bytes;
    cv::imencode(".png", image, bytes);
    ImageInput input;
    input.encoded.assign(bytes.begin(), bytes.end());
    return input;
  }

  absl::StatusOr<AnalyzeResult> Analyze(ImageInput image, AnalyzeOptions options = {},
                                        CallContext ctx = {}) {
    std::promise<absl::StatusOr<AnalyzeResult>> promise;
    pipeline_->Analyze(std::move(image), std::move(options), std::move(ctx),
                       [&](absl::StatusOr<AnalyzeResult> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }
  absl::StatusOr<EmbedResult> Embed(ImageInput image, EmbedOptions options = {}) {
    std::promise<absl::StatusOr<EmbedResult>> promise;
    pipeline_->Embed(std::move(image), std::move(options), {},
                     [&](absl::StatusOr<EmbedResult> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }
  absl::StatusOr<VerifyResult> Verify(VerifyInput a, VerifyInput b, VerifyOptions options = {}) {
    std::promise<absl::StatusOr<VerifyResult>> promise;
    pipeline_->Verify(std::move(a), std::move(b), std::move(options), {},
                      [&](absl::StatusOr<VerifyResult> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }

  // The four fake models and the config naming them (tests/testing/fake_models.h).
  testing::FakeModels fakes_;
  Config& config_ = fakes_.config;
  std::map<std::string, std::shared_ptr<FakeModelRunner>>& runners_ = fakes_.runners;
  std::unique_ptr<FacePipeline> pipeline_;
};

TEST_F(FacePipelineTest, AnalyzeFindsTheFaceAndRunsEveryPredictorInConfiguredOrder) {
  CreateAndPreheat();
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(128, 64, {200, 100, 50}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->width, 128);
  EXPECT_EQ(r->height, 64);
  ASSERT_EQ(r->faces.size(), 1u);  // the 0.2 candidate is below min_score
  const Face& face = r->faces[0];
  // Letterboxed top-left into a 128 px square: 0.25..0.5 -> 32..64.
  EXPECT_FLOAT_EQ(face.detection.box.x1, 32);
  EXPECT_FLOAT_EQ(face.detection.box.y1, 32);
  EXPECT_FLOAT_EQ(face.detection.box.x2, 64);
  EXPECT_FLOAT_EQ(face.detection.box.y2, 64);
  EXPECT_FLOAT_EQ(face.detection.score, 0.9f);
  EXPECT_EQ(face.detector_model, "fake_detector");
  EXPECT_EQ(face.landmarks68.size(), 68u);
  EXPECT_EQ(face.landmarks5.size(), 5u);
  ASSERT_EQ(face.predictions.size(), 3u);
  EXPECT_EQ(face.predictions[0].predictor, "landmarks");
  EXPECT_EQ(face.predictions[1].predictor, "expression");
  EXPECT_EQ(face.predictions[1].model, "fake_classifier");
  EXPECT_EQ(face.predictions[1].model_version, "test-1");
  EXPECT_EQ(face.predictions[1].heads[0].label, "b");
  EXPECT_EQ(face.predictions[2].predictor, "embedding");
  // Embeddings are left out unless asked for.
  EXPECT_TRUE(face.predictions[2].heads[0].embedding.empty());
  std::set<std::string> stages;
  for (const StageTiming& t : r->timings) stages.insert(t.stage);
  for (const char* s : {"reader", "detector", "unifier", "predictor/landmarks",
                        "predictor/expression", "predictor/embedding"}) {
    EXPECT_TRUE(stages.count(s)) << s;
  }
}

TEST_F(FacePipelineTest, HeadPoseWhereThe68LandmarksRanAndOnlyWhenConfigured) {
  CreateAndPreheat();
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(128, 64, {200, 100, 50}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->faces.size(), 1u);
  EXPECT_TRUE(r->faces[0].has_head_pose);
  EXPECT_TRUE(std::isfinite(r->faces[0].head_pose.yaw_deg));
  bool utilizer_timed = false;
  for (const StageTiming& t : r->timings) utilizer_timed |= t.stage == "utilizer";
  EXPECT_TRUE(utilizer_timed);
}

TEST_F(FacePipelineTest, NoHeadPoseWithoutThe68Landmarks) {
  // The embedding cropped from the detection box needs no landmarks; run alone,
  // no landmark model runs, so there is nothing to fit a pose to.
  config_.predictors[2].crop.method = CropConfig::Method::kBox;
  CreateAndPreheat();
  AnalyzeOptions options;
  options.predictors = {"embedding"};
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(128, 64, {200, 100, 50}), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->faces.size(), 1u);
  EXPECT_TRUE(r->faces[0].landmarks68.empty());
  EXPECT_FALSE(r->faces[0].has_head_pose);
}

TEST_F(FacePipelineTest, DetectOnlyRunsNoPredictor) {
  CreateAndPreheat();
  std::map<std::string, int> before;
  for (const char* model : {"det", "lm", "cls", "emb"}) before[model] = runners_[model]->num_calls();
  AnalyzeOptions options;
  options.detect_only = true;
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(128, 64, {200, 100, 50}), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->faces.size(), 1u);
  EXPECT_FLOAT_EQ(r->faces[0].detection.box.x1, 32);
  EXPECT_TRUE(r->faces[0].predictions.empty());
  EXPECT_TRUE(r->faces[0].landmarks68.empty());
  EXPECT_FALSE(r->faces[0].has_head_pose);
  EXPECT_EQ(runners_["det"]->num_calls(), before["det"] + 1);
  for (const char* model : {"lm", "cls", "emb"}) {
    EXPECT_EQ(runners_[model]->num_calls(), before[model]) << model;
  }
}

TEST_F(FacePipelineTest, HeadPoseOffByConfiguration) {
  config_.utilizers.head_pose = false;
  CreateAndPreheat();
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(128, 64, {200, 100, 50}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->faces.size(), 1u);
  EXPECT_EQ(r->faces[0].landmarks68.size(), 68u);
  EXPECT_FALSE(r->faces[0].has_head_pose);
}

TEST_F(FacePipelineTest, AnalyzeRunsOnlyTheRequestedPredictorsAndTheirLandmarkSource) {
  CreateAndPreheat();
  AnalyzeOptions options;
  options.predictors = {"expression"};
  options.return_embeddings = true;
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(64, 64, {1, 2, 3}), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->faces.size(), 1u);
  // expression crops from the 68 landmarks, so the landmark model ran too.
  ASSERT_EQ(r->faces[0].predictions.size(), 2u);
  EXPECT_EQ(r->faces[0].predictions[0].predictor, "landmarks");
  EXPECT_EQ(r->faces[0].predictions[1].predictor, "expression");
}

TEST_F(FacePipelineTest, AFaceFilterRunsItsPredictorOnTheKeptFacesOnly) {
  CreateAndPreheat();
  AnalyzeOptions options;
  options.min_detection_score = 0.1f;  // the fake detector's 0.9 and 0.2 faces
  std::vector<float> scores_seen;
  options.only_some_faces = {"embedding", [&](const std::vector<Face>& faces) {
                               for (const Face& f : faces) scores_seen.push_back(f.detection.score);
                               return std::vector<bool>{false, true};
                             }};
  int items_before = 0;
  for (int n : runners_["emb"]->batch_sizes()) items_before += n;
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(64, 64, {1, 2, 3}), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->faces.size(), 2u);
  EXPECT_EQ(scores_seen, (std::vector<float>{0.9f, 0.2f}));  // called once, after detection
  auto predictors_of = [](const Face& face) {
    std::vector<std::string> names;
    for (const Prediction& p : face.predictions) names.push_back(p.predictor);
    return names;
  };
  EXPECT_EQ(predictors_of(r->faces[0]), (std::vector<std::string>{"landmarks", "expression"}));
  EXPECT_EQ(predictors_of(r->faces[1]),
            (std::vector<std::string>{"landmarks", "expression", "embedding"}));
  int items_after = 0;
  for (int n : runners_["emb"]->batch_sizes()) items_after += n;
  EXPECT_EQ(items_after - items_before, 1);  // one face, not two, went to the model

  // The filtered predictor alone, every face left out: the call still ends.
  options.predictors = {"embedding"};
  options.only_some_faces.keep = [](const std::vector<Face>& faces) {
    return std::vector<bool>(faces.size(), false);
  };
  r = Analyze(Png(64, 64, {1, 2, 3}), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->faces.size(), 2u);
  for (const Face& face : r->faces) {
    EXPECT_EQ(predictors_of(face), (std::vector<std::string>{"landmarks"}));  // its crop's source
  }
}

TEST_F(FacePipelineTest, UnknownPredictorIsInvalidArgumentNamingIt) {
  CreateAndPreheat();
  AnalyzeOptions options;
  options.predictors = {"nope"};
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(64, 64, {1, 2, 3}), options);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("nope"), std::string::npos);
}

TEST_F(FacePipelineTest, UndecodableImageIsInvalidArgumentAndTheNextCallWorks) {
  CreateAndPreheat();
  ImageInput garbage;
  garbage.encoded = "this is not an image";
  EXPECT_EQ(Analyze(garbage).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Analyze(Png(64, 64, {1, 2, 3})).ok());
}

TEST_F(FacePipelineTest, MinScoreAboveEveryDetectionFindsNoFace) {
  CreateAndPreheat();
  AnalyzeOptions options;
  options.min_detection_score = 0.95f;
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(64, 64, {1, 2, 3}), options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->faces.empty());
}

TEST_F(FacePipelineTest, CallsBeforePreheatAreUnavailable) {
  absl::StatusOr<std::unique_ptr<FacePipeline>> p = FacePipeline::Create(config_, Loader());
  ASSERT_TRUE(p.ok()) << p.status();
  pipeline_ = *std::move(p);
  EXPECT_EQ(pipeline_->state(), PipelineState::kWarming);
  EXPECT_EQ(Analyze(Png(64, 64, {1, 2, 3})).status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE(pipeline_->Preheat().ok());
  EXPECT_EQ(pipeline_->state(), PipelineState::kReady);
  // Preheat ran every batch size up to the configured maximum.
  std::vector<int> sizes = runners_["det"]->batch_sizes();
  for (int b = 1; b <= config_.detector.batching.max_batch_size; ++b) {
    EXPECT_NE(std::find(sizes.begin(), sizes.end(), b), sizes.end()) << b;
  }
}

TEST_F(FacePipelineTest, PreheatOffMakesThePipelineReadyWithoutRunningModels) {
  config_.device.preheat = false;
  absl::StatusOr<std::unique_ptr<FacePipeline>> p = FacePipeline::Create(config_, Loader());
  ASSERT_TRUE(p.ok()) << p.status();
  pipeline_ = *std::move(p);
  ASSERT_TRUE(pipeline_->Preheat().ok());
  EXPECT_EQ(pipeline_->state(), PipelineState::kReady);
  for (const auto& [name, runner] : runners_) EXPECT_TRUE(runner->batch_sizes().empty()) << name;
  EXPECT_TRUE(Analyze(Png(64, 64, {1, 2, 3})).ok());
}

// detector.zoom_out: a face at least trigger_width of the image's longer side
// wide sends the image through the detector again, shrunk inside a canvas
// canvas_scale times its side; the large face then comes from that pass.
TEST_F(FacePipelineTest, ALargeFaceIsDetectedAgainOnTheZoomedOutCanvas) {
  config_.detector.zoom_out.trigger_width = 0.25f;
  config_.detector.zoom_out.canvas_scale = 2.0f;
  CreateAndPreheat();
  const size_t preheat_calls = runners_["det"]->batch_sizes().size();
  // First pass: the fake's face spans 0.25..0.5 of the 128 px image: 32 px,
  // a quarter of it, so it triggers the second pass, on a 256 px canvas,
  // where the same normalised box lands at 64..128. The two boxes do not
  // overlap, so the zoomed pass's face is a face of its own (large) and does
  // not replace the first pass's, which stands (a merge never loses a face).
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(128, 128, {200, 100, 50}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(runners_["det"]->batch_sizes().size(), preheat_calls + 2);
  ASSERT_EQ(r->faces.size(), 2u);
  std::vector<float> x1s;
  for (const Face& face : r->faces) {
    x1s.push_back(face.detection.box.x1);
    EXPECT_EQ(face.predictions.size(), 3u);
  }
  std::sort(x1s.begin(), x1s.end());
  EXPECT_FLOAT_EQ(x1s[0], 32);  // the first pass's
  EXPECT_FLOAT_EQ(x1s[1], 64);  // the zoomed pass's
  // One detector stage timing for both passes, and the second pass's own.
  std::map<std::string, int> timings;
  for (const StageTiming& t : r->timings) ++timings[t.stage];
  EXPECT_EQ(timings["detector"], 1);
  EXPECT_EQ(timings["detector_zoom_out"], 1);
}

TEST_F(FacePipelineTest, SmallFacesNeedNoZoomedOutPass) {
  config_.detector.zoom_out.trigger_width = 0.3f;  // the fake's 32 px face in 128 px: 0.25
  CreateAndPreheat();
  const size_t preheat_calls = runners_["det"]->batch_sizes().size();
  absl::StatusOr<AnalyzeResult> r = Analyze(Png(128, 64, {200, 100, 50}));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(runners_["det"]->batch_sizes().size(), preheat_calls + 1);
  ASSERT_EQ(r->faces.size(), 1u);
  EXPECT_FLOAT_EQ(r->faces[0].detection.box.x1, 32);
  for (const StageTiming& t : r->timings) EXPECT_NE(t.stage, "detector_zoom_out");
}

TEST_F(FacePipelineTest, NoFaceFoundTriesTheZoomedOutPassOnlyWhenZoomOutIsOn) {
  for (const float trigger : {0.0f, 0.25f}) {
    SCOPED_TRACE(trigger);
    config_.detector.zoom_out.trigger_width = trigger;
    CreateAndPreheat();
    const size_t preheat_calls = runners_["det"]->batch_sizes().size();
    AnalyzeOptions options;
    options.min_detection_score = 0.95f;  // above both of the fake's detections
    absl::StatusOr<AnalyzeResult> r = Analyze(Png(64, 64, {1, 2, 3}), options);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->faces.empty());
    EXPECT_EQ(runners_["det"]->batch_sizes().size(), preheat_calls + (trigger > 0 ? 2 : 1));
    pipeline_.reset();
  }
}

TEST_F(FacePipelineTest, MissingModelCardFailsCreateNamingTheRole) {
  fs::remove(fakes_.dir() / "cls.yaml");
  absl::StatusOr<std::unique_ptr<FacePipeline>> p = FacePipeline::Create(config_, Loader());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("expression"), std::string::npos);
}

TEST_F(FacePipelineTest, LabelCountDisagreeingWithTheModelFailsCreate) {
  config_.predictors[1].heads[0].labels = {"x", "y"};
  absl::StatusOr<std::unique_ptr<FacePipeline>> p = FacePipeline::Create(config_, Loader());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FacePipelineTest, PassedDeadlineIsDeadlineExceeded) {
  CreateAndPreheat();
  CallContext ctx;
  ctx.deadline = absl::Now() - absl::Seconds(1);
  EXPECT_EQ(Analyze(Png(64, 64, {1, 2, 3}), {}, ctx).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(FacePipelineTest, WholeImageEmbedSkipsTheDetector) {
  CreateAndPreheat();
  const int detector_calls = runners_["det"]->num_calls();
  EmbedOptions options;
  options.selection = FaceSelection::kWholeImage;
  absl::StatusOr<EmbedResult> r = Embed(Png(40, 40, {10, 20, 30}), options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(runners_["det"]->num_calls(), detector_calls);
  ASSERT_EQ(r->faces.size(), 1u);
  EXPECT_FLOAT_EQ(r->faces[0].box.x2, 40);
  EXPECT_EQ(r->faces[0].embedding.size(), 4u);
  EXPECT_EQ(r->model, "fake_embedder");
}

TEST_F(FacePipelineTest, VerifyMatchesImagesOfOneColourAndNotOfAnother) {
  CreateAndPreheat();
  VerifyInput a, b, c;
  a.image = Png(80, 80, {200, 10, 10});
  b.image = Png(100, 100, {200, 10, 10});
  c.image = Png(80, 80, {10, 10, 200});
  absl::StatusOr<VerifyResult> same = Verify(a, b);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_NEAR(same->similarity, 1.0, 1e-3);
  EXPECT_TRUE(same->match);
  EXPECT_FLOAT_EQ(same->threshold, 0.9f);
  ASSERT_TRUE(same->box_a.has_value());
  absl::StatusOr<VerifyResult> different = Verify(a, c);
  ASSERT_TRUE(different.ok());
  EXPECT_LT(different->similarity, 0.9f);
  EXPECT_FALSE(different->match);
}

TEST_F(FacePipelineTest, VerifyTwoEmbeddingsNeedsNoModel) {
  CreateAndPreheat();
  const int calls = runners_["emb"]->num_calls();
  VerifyInput a, b;
  a.is_embedding = b.is_embedding = true;
  a.embedding = {1, 0, 0, 0};
  b.embedding = {1, 1, 0, 0};
  VerifyOptions options;
  options.threshold = 0.5f;
  absl::StatusOr<VerifyResult> r = Verify(a, b, options);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->similarity, std::sqrt(0.5), 1e-6);
  EXPECT_TRUE(r->match);
  EXPECT_FLOAT_EQ(r->threshold, 0.5f);
  EXPECT_EQ(runners_["emb"]->num_calls(), calls);
}

TEST_F(FacePipelineTest, VerifyEmbeddingOfWrongSizeIsInvalidArgument) {
  CreateAndPreheat();
  VerifyInput a, b;
  a.is_embedding = b.is_embedding = true;
  a.embedding = {1, 0};
  b.embedding = {1, 0, 0, 0};
  EXPECT_EQ(Verify(a, b).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FacePipelineTest, ConcurrentRequestsShareDetectorBatches) {
  config_.detector.batching.max_batch_size = 4;
  config_.detector.batching.max_queue_delay_us = 10 * 1000 * 1000;  // flush only when full
  CreateAndPreheat();
  const int before = runners_["det"]->num_calls();
  std::vector<std::future<absl::StatusOr<AnalyzeResult>>> results;
  for (int i = 0; i < 4; ++i) {
    results.push_back(std::async(std::launch::async, [this] {
      return Analyze(Png(64, 64, {1, 2, 3}));
    }));
  }
  for (auto& f : results) {
    absl::StatusOr<AnalyzeResult> r = f.get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->faces.size(), 1u);
  }
  std::vector<int> sizes = runners_["det"]->batch_sizes();
  ASSERT_EQ(static_cast<int>(sizes.size()), before + 1);
  EXPECT_EQ(sizes.back(), 4);
}

TEST_F(FacePipelineTest, ShutdownRefusesNewCallsWithTheReason) {
  CreateAndPreheat();
  pipeline_->Shutdown();
  const absl::Status s = Analyze(Png(64, 64, {1, 2, 3})).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(s), ErrorReason::kShuttingDown);
}

// Lifecycle: a Shutdown() while Preheat() runs stops the preheat before its
// next batch size, and nothing makes the pipeline ready again.
TEST_F(FacePipelineTest, ShutdownInTheMiddleOfPreheatStopsItWithCancelled) {
  absl::StatusOr<std::unique_ptr<FacePipeline>> p = FacePipeline::Create(config_, Loader());
  ASSERT_TRUE(p.ok()) << p.status();
  pipeline_ = *std::move(p);
  ASSERT_GT(config_.detector.batching.max_batch_size, 1);
  runners_["det"]->Block();  // the first preheat pass waits inside the model
  std::future<absl::Status> preheat =
      std::async(std::launch::async, [this] { return pipeline_->Preheat(); });
  const absl::Time limit = absl::Now() + absl::Seconds(30);
  while (runners_["det"]->batch_sizes().empty() && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_FALSE(runners_["det"]->batch_sizes().empty()) << "preheat never reached the detector";
  pipeline_->Shutdown();
  runners_["det"]->Unblock();
  const absl::Status s = preheat.get();
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled) << s;
  EXPECT_EQ(pipeline_->state(), PipelineState::kShuttingDown);
  // The pass that was running finished; no other size and no predictor ran.
  EXPECT_EQ(runners_["det"]->batch_sizes(), std::vector<int>{1});
  for (const char* name : {"lm", "cls", "emb"}) {
    EXPECT_TRUE(runners_[name]->batch_sizes().empty()) << name;
  }
  EXPECT_EQ(Analyze(Png(64, 64, {1, 2, 3})).status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(FacePipelineTest, PreheatAfterShutdownIsCancelledAndRunsNothing) {
  absl::StatusOr<std::unique_ptr<FacePipeline>> p = FacePipeline::Create(config_, Loader());
  ASSERT_TRUE(p.ok()) << p.status();
  pipeline_ = *std::move(p);
  pipeline_->Shutdown();
  EXPECT_EQ(pipeline_->Preheat().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(pipeline_->state(), PipelineState::kShuttingDown);
  for (const auto& [name, runner] : runners_) EXPECT_TRUE(runner->batch_sizes().empty()) << name;
}

TEST_F(FacePipelineTest, ShutdownIsIdempotentFromEveryThread) {
  CreateAndPreheat();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([this] { pipeline_->Shutdown(); });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(pipeline_->state(), PipelineState::kShuttingDown);
}

// `done` runs on a pipeline thread for every outcome, refusals included, so a
// caller holding a lock around the call cannot deadlock on its own callback.
TEST_F(FacePipelineTest, DoneNeverRunsOnTheCallersThread) {
  absl::StatusOr<std::unique_ptr<FacePipeline>> created = FacePipeline::Create(config_, Loader());
  ASSERT_TRUE(created.ok()) << created.status();
  pipeline_ = *std::move(created);
  const std::thread::id caller = std::this_thread::get_id();
  auto analyze_thread = [&](AnalyzeOptions options, ImageInput image) {
    std::promise<std::pair<std::thread::id, absl::StatusCode>> promise;
    pipeline_->Analyze(std::move(image), std::move(options), {},
                       [&](absl::StatusOr<AnalyzeResult> r) {
                         promise.set_value({std::this_thread::get_id(), r.status().code()});
                       });
    return promise.get_future().get();
  };
  // Refused: not preheated yet.
  auto [t1, c1] = analyze_thread({}, Png(64, 64, {1, 2, 3}));
  EXPECT_NE(t1, caller);
  EXPECT_EQ(c1, absl::StatusCode::kUnavailable);
  ASSERT_TRUE(pipeline_->Preheat().ok());
  // Refused: an unknown predictor.
  AnalyzeOptions unknown;
  unknown.predictors = {"nope"};
  auto [t2, c2] = analyze_thread(unknown, Png(64, 64, {1, 2, 3}));
  EXPECT_NE(t2, caller);
  EXPECT_EQ(c2, absl::StatusCode::kInvalidArgument);
  // Failed in the reader, and answered in full.
  ImageInput junk;
  junk.encoded = "not an image";
  auto [t3, c3] = analyze_thread({}, junk);
  EXPECT_NE(t3, caller);
  EXPECT_EQ(c3, absl::StatusCode::kInvalidArgument);
  auto [t4, c4] = analyze_thread({}, Png(64, 64, {1, 2, 3}));
  EXPECT_NE(t4, caller);
  EXPECT_EQ(c4, absl::StatusCode::kOk);
  // Verify of two embeddings needs no model at all.
  VerifyInput a, b;
  a.is_embedding = b.is_embedding = true;
  a.embedding = b.embedding = std::vector<float>(testing::FakeModels::kEmbeddingSize, 1.0f);
  std::promise<std::thread::id> verified;
  pipeline_->Verify(a, b, {}, {}, [&](absl::StatusOr<VerifyResult>) {
    verified.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(verified.get_future().get(), caller);
  // Refused: shut down.
  pipeline_->Shutdown();
  auto [t5, c5] = analyze_thread({}, Png(64, 64, {1, 2, 3}));
  EXPECT_NE(t5, caller);
  EXPECT_EQ(c5, absl::StatusCode::kUnavailable);
}

// The reasons clients branch on, from the pipeline itself.
TEST_F(FacePipelineTest, FailuresCarryTheirReasons) {
  CreateAndPreheat();
  AnalyzeOptions unknown;
  unknown.predictors = {"nope"};
  EXPECT_EQ(ReasonOf(Analyze(Png(64, 64, {1, 2, 3}), unknown).status()),
            ErrorReason::kUnknownPredictor);
  ImageInput junk;
  junk.encoded = "not an image";
  EXPECT_EQ(ReasonOf(Analyze(junk).status()), ErrorReason::kUnsupportedFormat);
  ImageInput empty;
  EXPECT_EQ(ReasonOf(Analyze(empty).status()), ErrorReason::kImageEmpty);
  ImageInput cut = Png(64, 64, {1, 2, 3});
  cut.encoded.resize(cut.encoded.size() / 2);
  EXPECT_EQ(ReasonOf(Analyze(cut).status()), ErrorReason::kImageUndecodable);
  config_.reader.max_pixels = 100;
  pipeline_.reset();
  CreateAndPreheat();
  const absl::Status large = Analyze(Png(64, 64, {1, 2, 3})).status();
  EXPECT_EQ(large.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(large), ErrorReason::kImageTooLarge);
}

}  // namespace
}  // namespace faceserve
