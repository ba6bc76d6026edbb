// FaceServer lifecycle over real gRPC: health, reflection, graceful shutdown.
#include "server/face_server.h"

#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_harness.h"

namespace faceserve {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using testing::AsyncCall;
using testing::ContextWithTimeout;
using testing::EncodedImage;
using testing::Harness;
using testing::HealthCheck;
using testing::kNotServing;
using testing::kServing;

v1::AnalyzeRequest AnalyzeRequestWithImage() {
  v1::AnalyzeRequest request;
  *request.mutable_image() = EncodedImage();
  return request;
}

TEST(FaceServerTest, BindsAFreePortWhenAskedForPortZero) {
  Harness h;
  EXPECT_GT(h.server->port(), 0);
}

TEST(FaceServerTest, HealthIsNotServingUntilSetServing) {
  Harness h;
  EXPECT_EQ(HealthCheck(h.channel, ""), kNotServing);
  EXPECT_EQ(HealthCheck(h.channel, "faceserve.v1.FaceService"), kNotServing);
  h.server->SetServing(true);
  EXPECT_EQ(HealthCheck(h.channel, ""), kServing);
  EXPECT_EQ(HealthCheck(h.channel, "faceserve.v1.FaceService"), kServing);
  h.server->SetServing(false);
  EXPECT_EQ(HealthCheck(h.channel, ""), kNotServing);
}

TEST(FaceServerTest, HealthOfAnUnknownServiceIsNotFound) {
  Harness h;
  grpc::Status status;
  EXPECT_EQ(HealthCheck(h.channel, "no.such.Service", &status), -1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(FaceServerTest, ReflectionListsTheService) {
  Harness h;
  const std::vector<std::string> services = testing::ReflectionListServices(h.channel);
  EXPECT_THAT(services, Contains("faceserve.v1.FaceService"));
  EXPECT_THAT(services, Contains("grpc.health.v1.Health"));
}

TEST(FaceServerTest, GracefulShutdownLetsAnInFlightCallFinish) {
  Harness h;
  h.server->SetServing(true);
  h.pipeline.Hold();
  const v1::AnalyzeRequest request = AnalyzeRequestWithImage();
  AsyncCall<v1::AnalyzeResponse> in_flight;
  h.stub->async()->Analyze(in_flight.ctx.get(), &request, &in_flight.response,
                           in_flight.Callback());
  ASSERT_TRUE(h.pipeline.WaitForQueued(1));

  bool clean = false;
  std::thread shutdown([&] { clean = h.server->Shutdown(absl::Seconds(10)); });
  // During the grace period: health says NOT_SERVING (once Shutdown has
  // begun on its thread), new calls are refused.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (HealthCheck(h.channel, "") != kNotServing && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(HealthCheck(h.channel, ""), kNotServing);
  EXPECT_EQ(HealthCheck(h.channel, "faceserve.v1.FaceService"), kNotServing);
  v1::AnalyzeResponse refused;
  grpc::Status status = h.stub->Analyze(ContextWithTimeout().get(), request, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("shutting down"));
  EXPECT_FALSE(in_flight.done.HasBeenNotified());

  h.pipeline.Release();
  ASSERT_TRUE(in_flight.Wait());
  EXPECT_TRUE(in_flight.status.ok()) << in_flight.status.error_message();
  EXPECT_EQ(in_flight.response.faces_size(), 2);
  shutdown.join();
  EXPECT_TRUE(clean);
}

TEST(FaceServerTest, ShutdownCancelsCallsStillRunningAfterTheGracePeriod) {
  Harness h;
  h.pipeline.Hold();
  const v1::AnalyzeRequest request = AnalyzeRequestWithImage();
  AsyncCall<v1::AnalyzeResponse> stuck;
  h.stub->async()->Analyze(stuck.ctx.get(), &request, &stuck.response, stuck.Callback());
  ASSERT_TRUE(h.pipeline.WaitForQueued(1));
  const absl::Time start = absl::Now();
  EXPECT_FALSE(h.server->Shutdown(absl::Milliseconds(200)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ASSERT_TRUE(stuck.Wait());
  EXPECT_FALSE(stuck.status.ok());
  EXPECT_EQ(h.server->in_flight(), 0);  // Shutdown() returns after every call is done
}

TEST(FaceServerTest, ShutdownIsIdempotent) {
  Harness h;
  EXPECT_TRUE(h.server->Shutdown(absl::Seconds(1)));
  EXPECT_TRUE(h.server->Shutdown(absl::Seconds(1)));
  h.server->SetServing(true);  // ignored, no crash
}

TEST(FaceServerTest, StartFailsWhenTheAddressCannotBeBound) {
  testing::FakePipeline pipeline;
  Config config = testing::TestConfig();
  config.server.listen = "192.0.2.1:0";  // TEST-NET: not an address of this host
  auto server = FaceServer::Start(config, &pipeline, nullptr);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("server.listen"));
}

TEST(FaceServerTest, StartRejectsANonPositiveCallLimit) {
  testing::FakePipeline pipeline;
  Config config = testing::TestConfig();
  config.server.max_concurrent_calls = 0;
  auto server = FaceServer::Start(config, &pipeline, nullptr);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FaceServerTest, WorksWithoutMetrics) {
  testing::FakePipeline pipeline;
  auto server = FaceServer::Start(testing::TestConfig(), &pipeline, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::FaceService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials()));
  v1::AnalyzeResponse response;
  EXPECT_TRUE(
      stub->Analyze(ContextWithTimeout().get(), AnalyzeRequestWithImage(), &response).ok());
}

}  // namespace
}  // namespace faceserve
