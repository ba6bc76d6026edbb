// FaceServiceImpl over real gRPC (loopback, port 0) with the FakePipeline.
#include "server/face_service.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_harness.h"

namespace faceserve {
namespace {

using ::testing::HasSubstr;
using testing::AsyncCall;
using testing::ContextWithTimeout;
using testing::EncodedImage;
using testing::Harness;
using testing::WaitUntil;

v1::AnalyzeRequest AnalyzeRequestWithImage() {
  v1::AnalyzeRequest request;
  *request.mutable_image() = EncodedImage();
  return request;
}

TEST(FaceServiceTest, AnalyzeReturnsTheCannedFaces) {
  Harness h;
  v1::AnalyzeResponse response;
  grpc::Status status =
      h.stub->Analyze(ContextWithTimeout().get(), AnalyzeRequestWithImage(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.image_width_px(), 640);
  ASSERT_EQ(response.faces_size(), 2);
  EXPECT_FLOAT_EQ(response.faces(0).detection_score(), 0.98f);
  EXPECT_EQ(response.faces(0).predictions_size(), 6);
  EXPECT_EQ(response.timings_size(), 3);
  for (const v1::Prediction& p : response.faces(0).predictions()) {
    for (const v1::PredictorOutput& o : p.outputs()) EXPECT_FALSE(o.has_embedding());
  }
}

TEST(FaceServiceTest, AnalyzeReturnsEmbeddingsWhenAsked) {
  Harness h;
  v1::AnalyzeRequest request = AnalyzeRequestWithImage();
  request.mutable_options()->set_return_embeddings(true);
  v1::AnalyzeResponse response;
  ASSERT_TRUE(h.stub->Analyze(ContextWithTimeout().get(), request, &response).ok());
  int embeddings = 0;
  for (const v1::Prediction& p : response.faces(0).predictions()) {
    for (const v1::PredictorOutput& o : p.outputs()) embeddings += o.has_embedding();
  }
  EXPECT_EQ(embeddings, 1);
}

TEST(FaceServiceTest, AnalyzeHandsTheRequestToThePipeline) {
  Harness h;
  v1::AnalyzeRequest request = AnalyzeRequestWithImage();
  request.mutable_options()->add_predictors("expression");
  request.mutable_options()->set_max_faces(4);
  request.mutable_options()->set_min_detection_score(0.25f);
  v1::AnalyzeResponse response;
  ASSERT_TRUE(h.stub->Analyze(ContextWithTimeout().get(), request, &response).ok());
  ASSERT_EQ(h.pipeline.num_calls(), 1);
  const auto call = h.pipeline.last_call();
  EXPECT_EQ(call.rpc, "Analyze");
  EXPECT_EQ(call.image.encoded, EncodedImage().encoded());
  EXPECT_THAT(call.analyze.predictors, ::testing::ElementsAre("expression"));
  EXPECT_EQ(call.analyze.max_faces, 4);
  EXPECT_FLOAT_EQ(call.analyze.min_detection_score, 0.25f);
}

TEST(FaceServiceTest, EmbedReturnsTheCannedEmbedding) {
  Harness h;
  v1::EmbedRequest request;
  *request.mutable_image() = EncodedImage();
  request.set_selection(v1::FACE_SELECTION_WHOLE_IMAGE);
  v1::EmbedResponse response;
  grpc::Status status = h.stub->Embed(ContextWithTimeout().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.faces_size(), 1);
  EXPECT_EQ(response.faces(0).embedding().values_size(), 128);
  EXPECT_EQ(response.model(), "face_recognition");
  EXPECT_EQ(h.pipeline.last_call().embed.selection, FaceSelection::kWholeImage);
}

TEST(FaceServiceTest, VerifyReturnsTheCannedComparison) {
  Harness h;
  v1::VerifyRequest request;
  *request.mutable_a()->mutable_image() = EncodedImage();
  request.mutable_b()->mutable_embedding()->add_values(1.0f);
  request.set_threshold(0.4f);
  v1::VerifyResponse response;
  grpc::Status status = h.stub->Verify(ContextWithTimeout().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FLOAT_EQ(response.similarity(), 0.83f);
  EXPECT_TRUE(response.match());
  EXPECT_TRUE(response.has_box_a());
  EXPECT_FALSE(response.has_box_b());
  const auto call = h.pipeline.last_call();
  EXPECT_FALSE(call.a.is_embedding);
  EXPECT_TRUE(call.b.is_embedding);
  EXPECT_FLOAT_EQ(call.verify.threshold, 0.4f);
}

TEST(FaceServiceTest, InvalidRequestIsRejectedBeforeThePipeline) {
  Harness h;
  v1::AnalyzeResponse response;
  grpc::Status status =
      h.stub->Analyze(ContextWithTimeout().get(), v1::AnalyzeRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("image: not set"));

  v1::VerifyRequest verify;
  *verify.mutable_a()->mutable_image() = EncodedImage();
  v1::VerifyResponse verify_response;
  status = h.stub->Verify(ContextWithTimeout().get(), verify, &verify_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("b: not set"));
  EXPECT_EQ(h.pipeline.num_calls(), 0);
}

TEST(FaceServiceTest, PipelineErrorsKeepTheirCodeAndMessage) {
  Harness h;
  h.pipeline.set_analyze_result(absl::InvalidArgumentError("predictor \"nope\" is not configured"));
  h.pipeline.set_embed_result(absl::FailedPreconditionError("no embedding predictor"));
  v1::AnalyzeResponse response;
  grpc::Status status =
      h.stub->Analyze(ContextWithTimeout().get(), AnalyzeRequestWithImage(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "predictor \"nope\" is not configured");
  EXPECT_EQ(response.faces_size(), 0);

  v1::EmbedRequest embed;
  *embed.mutable_image() = EncodedImage();
  v1::EmbedResponse embed_response;
  status = h.stub->Embed(ContextWithTimeout().get(), embed, &embed_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(FaceServiceTest, ClientDeadlineReachesThePipeline) {
  Harness h;
  const absl::Time deadline = absl::Now() + absl::Seconds(7);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(deadline));
  v1::AnalyzeResponse response;
  ASSERT_TRUE(h.stub->Analyze(&ctx, AnalyzeRequestWithImage(), &response).ok());
  const absl::Time seen = h.pipeline.last_call().ctx.deadline;
  EXPECT_LT(absl::AbsDuration(seen - deadline), absl::Milliseconds(100))
      << "client " << deadline << " pipeline " << seen;
}

TEST(FaceServiceTest, DefaultDeadlineAppliesWhenTheClientSetsNone) {
  Config config = testing::TestConfig();
  config.server.default_deadline_ms = 1500;
  Harness h(config);
  grpc::ClientContext ctx;  // no deadline
  v1::AnalyzeResponse response;
  ASSERT_TRUE(h.stub->Analyze(&ctx, AnalyzeRequestWithImage(), &response).ok());
  const auto call = h.pipeline.last_call();
  const absl::Duration budget = call.ctx.deadline - call.received_at;
  EXPECT_GT(budget, absl::Milliseconds(1300));
  EXPECT_LE(budget, absl::Milliseconds(1500));
}

TEST(FaceServiceTest, ExpiredDeadlineWhileQueuedIsDeadlineExceeded) {
  Harness h;
  h.pipeline.Hold();
  auto ctx = ContextWithTimeout(absl::Milliseconds(300));
  v1::AnalyzeResponse response;
  grpc::Status status = h.stub->Analyze(ctx.get(), AnalyzeRequestWithImage(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST(FaceServiceTest, ClientCancellationReachesThePipeline) {
  Harness h;
  h.pipeline.Hold();
  AsyncCall<v1::AnalyzeResponse> call;
  const v1::AnalyzeRequest request = AnalyzeRequestWithImage();
  h.stub->async()->Analyze(call.ctx.get(), &request, &call.response, call.Callback());
  ASSERT_TRUE(h.pipeline.WaitForQueued(1));
  const CallContext seen = h.pipeline.last_call().ctx;
  ASSERT_TRUE(seen.is_cancelled);
  EXPECT_FALSE(seen.is_cancelled());
  call.ctx->TryCancel();
  ASSERT_TRUE(call.Wait());
  EXPECT_EQ(call.status.error_code(), grpc::StatusCode::CANCELLED);
  // The client is done at once; the server learns of it a moment later.
  EXPECT_TRUE(WaitUntil([&] { return seen.is_cancelled(); }));
  EXPECT_TRUE(WaitUntil([&] { return h.server->in_flight() == 0; }));
  // The pipeline may ask late, after the call is over: still true, no crash.
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(seen.is_cancelled());
}

TEST(FaceServiceTest, UnavailableUntilThePipelineIsReady) {
  Harness h;
  h.pipeline.set_state(PipelineState::kWarming);
  v1::AnalyzeResponse response;
  grpc::Status status =
      h.stub->Analyze(ContextWithTimeout().get(), AnalyzeRequestWithImage(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("not ready"));
  EXPECT_EQ(h.pipeline.num_calls(), 0);

  h.pipeline.set_state(PipelineState::kReady);
  EXPECT_TRUE(
      h.stub->Analyze(ContextWithTimeout().get(), AnalyzeRequestWithImage(), &response).ok());
}

TEST(FaceServiceTest, CallsBeyondMaxConcurrentCallsAreResourceExhausted) {
  Config config = testing::TestConfig();
  config.server.max_concurrent_calls = 2;
  Harness h(config);
  h.pipeline.Hold();
  const v1::AnalyzeRequest request = AnalyzeRequestWithImage();
  AsyncCall<v1::AnalyzeResponse> first, second;
  h.stub->async()->Analyze(first.ctx.get(), &request, &first.response, first.Callback());
  h.stub->async()->Analyze(second.ctx.get(), &request, &second.response, second.Callback());
  ASSERT_TRUE(h.pipeline.WaitForQueued(2));

  v1::AnalyzeResponse response;
  grpc::Status status = h.stub->Analyze(ContextWithTimeout().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("max_concurrent_calls"));
  EXPECT_EQ(h.server->in_flight(), 2);

  h.pipeline.Release();
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_TRUE(first.status.ok());
  EXPECT_TRUE(second.status.ok());
  // The slots are free again (before the responses were sent).
  EXPECT_TRUE(WaitUntil([&] { return h.server->in_flight() == 0; }));
  EXPECT_TRUE(h.stub->Analyze(ContextWithTimeout().get(), request, &response).ok());
}

// A client that waits for each response before the next call is never
// refused, even at a limit of one: the slot is free before the response
// leaves the server (gRPC's OnDone, which ends the call, may run later).
TEST(FaceServiceTest, SequentialCallsAreNeverRefusedAtTheLimit) {
  Config config = testing::TestConfig();
  config.server.max_concurrent_calls = 1;
  Harness h(config);
  h.pipeline.set_state(PipelineState::kReady);
  const v1::AnalyzeRequest request = AnalyzeRequestWithImage();
  for (int i = 0; i < 500; ++i) {
    v1::AnalyzeResponse response;
    grpc::Status status = h.stub->Analyze(ContextWithTimeout().get(), request, &response);
    ASSERT_TRUE(status.ok()) << "call " << i << ": " << status.error_message();
  }
  // Every call also ends (OnDone) once its response is out.
  EXPECT_TRUE(WaitUntil([&] { return h.server->in_flight() == 0; }));
}

TEST(FaceServiceTest, OversizedMessageIsRejectedByGrpc) {
  Config config = testing::TestConfig();
  config.server.max_message_bytes = 1024;
  Harness h(config);
  v1::AnalyzeRequest request;
  *request.mutable_image() = EncodedImage(std::string(4096, 'x'));
  v1::AnalyzeResponse response;
  grpc::Status status = h.stub->Analyze(ContextWithTimeout().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(h.pipeline.num_calls(), 0);
}

TEST(FaceServiceTest, RequestMetricsCountEveryOutcome) {
  Harness h;
  v1::AnalyzeResponse response;
  ASSERT_TRUE(
      h.stub->Analyze(ContextWithTimeout().get(), AnalyzeRequestWithImage(), &response).ok());
  ASSERT_TRUE(
      h.stub->Analyze(ContextWithTimeout().get(), AnalyzeRequestWithImage(), &response).ok());
  h.stub->Analyze(ContextWithTimeout().get(), v1::AnalyzeRequest(), &response);  // invalid
  h.pipeline.set_state(PipelineState::kLoading);
  v1::EmbedResponse embed_response;
  v1::EmbedRequest embed;
  *embed.mutable_image() = EncodedImage();
  h.stub->Embed(ContextWithTimeout().get(), embed, &embed_response);  // unavailable

  ASSERT_TRUE(WaitUntil([&] { return h.server->in_flight() == 0; }));
  const std::string text = h.metrics->Scrape();
  EXPECT_THAT(text, HasSubstr("faceserve_requests_total{code=\"OK\",rpc=\"Analyze\"} 2"));
  EXPECT_THAT(text,
              HasSubstr("faceserve_requests_total{code=\"INVALID_ARGUMENT\",rpc=\"Analyze\"} 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_requests_total{code=\"UNAVAILABLE\",rpc=\"Embed\"} 1"));
  EXPECT_THAT(text, HasSubstr("faceserve_request_duration_seconds_count{rpc=\"Analyze\"} 3"));
  EXPECT_THAT(text, HasSubstr("faceserve_requests_in_flight 0"));
}

TEST(FaceServiceTest, InFlightGaugeCountsHeldCalls) {
  Harness h;
  h.pipeline.Hold();
  AsyncCall<v1::AnalyzeResponse> call;
  const v1::AnalyzeRequest request = AnalyzeRequestWithImage();
  h.stub->async()->Analyze(call.ctx.get(), &request, &call.response, call.Callback());
  ASSERT_TRUE(h.pipeline.WaitForQueued(1));
  EXPECT_THAT(h.metrics->Scrape(), HasSubstr("faceserve_requests_in_flight 1"));
  h.pipeline.Release();
  ASSERT_TRUE(call.Wait());
  EXPECT_TRUE(WaitUntil([&] {
    return h.metrics->Scrape().find("faceserve_requests_in_flight 0") != std::string::npos;
  }));
}

}  // namespace
}  // namespace faceserve
