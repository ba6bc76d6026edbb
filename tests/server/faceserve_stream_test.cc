// AnalyzeStream on the real faceserve process with the real models on CPU,
// over loopback: frames made here by moving a real face (cut from one of
// face-api's demo photos) across a plain background. Checks one track id
// for the one person across frames with detection every 3rd frame, the
// answers in order, the frames skipped under DROP_OLDEST reported, the
// errors, the stream budget beside unary calls, the end on SIGTERM, and the
// idle timeout (a server of its own).
//
// Needs the faceserve binary (FACESERVE_BINARY) and the exported models.
#include <signal.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "proto/rpc_status.h"
#include "gtest/gtest.h"
#include "tests/server/test_harness.h"
#include "tests/testing/server_process.h"

namespace faceserve {
namespace {

using testing::HealthCheck;
using testing::ServerProcess;

const std::string kSourceDir = FACESERVE_SOURCE_DIR;

// A face (sample1.jpg's first face with a margin), 150 px wide.
cv::Mat FacePatch() {
  const cv::Mat photo = cv::imread(
      kSourceDir + "/models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg");
  cv::Mat patch;
  cv::resize(photo(cv::Rect(780, 360, 310, 360)), patch, cv::Size(150, 174));
  return patch;
}

// Frame `i` of a 640x480 clip: the face moves 12 px right per frame.
std::string Frame(const cv::Mat& face, int i) {
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 110, 120));
  face.copyTo(frame(cv::Rect(40 + 12 * i, 150, face.cols, face.rows)));
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", frame, jpeg, {cv::IMWRITE_JPEG_QUALITY, 85});
  return std::string(jpeg.begin(), jpeg.end());
}

v1::StreamRequest Config(int detect_every, v1::OverflowPolicy overflow, int max_queued = 0) {
  v1::StreamRequest r;
  r.mutable_config()->set_detect_every(detect_every);
  r.mutable_config()->set_overflow(overflow);
  r.mutable_config()->set_max_queued_frames(max_queued);
  r.mutable_config()->mutable_options()->add_predictors("age_gender");
  return r;
}

v1::StreamRequest FrameRequest(const std::string& jpeg, int64_t sequence) {
  v1::StreamRequest r;
  r.mutable_frame()->mutable_image()->set_encoded(jpeg);
  r.mutable_frame()->set_sequence(sequence);
  r.mutable_frame()->set_timestamp_us(40000 * (sequence + 1));  // 25 fps
  return r;
}

// Reads what is left of a stream and returns how it ended.
template <typename Stream>
grpc::Status Drain(Stream* stream) {
  for (v1::StreamResponse r; stream->Read(&r);) {
  }
  return stream->Finish();
}

class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess(std::vector<std::string>{
        FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml", "--set",
        "server.listen=127.0.0.1:0", "--set", "metrics.listen=", "--set", "http.listen=",
        "--set", "device.device=cpu", "--set", "server.max_streams=2", "--set",
        "models_dir=" + kSourceDir + "/models/exported"});
    const int port = server_->WaitForPort(absl::Seconds(120));
    channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    testing::WaitUntil([] { return HealthCheck(*channel_, "") == testing::kServing; },
                       absl::Seconds(180));
  }
  static void TearDownTestSuite() {
    delete channel_;
    delete server_;
  }
  std::unique_ptr<v1::FaceService::Stub> Stub() { return v1::FaceService::NewStub(*channel_); }

  static ServerProcess* server_;
  static std::shared_ptr<grpc::Channel>* channel_;
};
ServerProcess* StreamTest::server_ = nullptr;
std::shared_ptr<grpc::Channel>* StreamTest::channel_ = nullptr;

TEST_F(StreamTest, OnePersonKeepsOneTrackWithDetectionEveryThirdFrame) {
  const cv::Mat face = FacePatch();
  auto stub = Stub();
  grpc::ClientContext ctx;
  auto stream = stub->AnalyzeStream(&ctx);
  // Read while writing, as a video client does: with BLOCK the server stops
  // reading while it is behind, and a client that only wrote would wait.
  std::vector<v1::StreamResponse> responses;
  std::thread reader([&] {
    for (v1::StreamResponse r; stream->Read(&r);) responses.push_back(r);
  });
  constexpr int kFrames = 30;
  bool written = stream->Write(Config(3, v1::OVERFLOW_BLOCK));
  for (int i = 0; i < kFrames && written; ++i) written = stream->Write(FrameRequest(Frame(face, i), i));
  stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  ASSERT_TRUE(written);
  ASSERT_TRUE(status.ok()) << status.error_message() << " " << server_->log();

  ASSERT_EQ(responses.size(), static_cast<size_t>(kFrames));  // BLOCK: none skipped
  std::set<int64_t> ids;
  for (int i = 0; i < kFrames; ++i) {
    const v1::StreamResponse& r = responses[i];
    EXPECT_EQ(r.sequence(), i);
    EXPECT_EQ(r.detected(), i % 3 == 0) << "frame " << i;
    EXPECT_TRUE(r.skipped_sequences().empty());
    ASSERT_EQ(r.faces_size(), 1) << "frame " << i;
    ids.insert(r.faces(0).track_id());
    const v1::Box& b = r.faces(0).face().box();
    const float cx = (b.x1() + b.x2()) / 2, truth = 40 + 12 * i + 75;
    EXPECT_NEAR(cx, truth, 25) << "frame " << i;
    if (r.detected()) {
      EXPECT_GT(r.faces(0).face().predictions_size(), 0) << "frame " << i;
    } else {
      EXPECT_EQ(r.faces(0).face().predictions_size(), 0) << "frame " << i;
    }
  }
  EXPECT_EQ(ids.size(), 1u);
  ASSERT_GT(responses[0].events_size(), 0);
  EXPECT_EQ(responses[0].events(0).kind(), v1::TRACK_STARTED);
}

TEST_F(StreamTest, DropOldestSkipsFramesAndSaysWhich) {
  const cv::Mat face = FacePatch();
  auto stub = Stub();
  grpc::ClientContext ctx;
  auto stream = stub->AnalyzeStream(&ctx);
  ASSERT_TRUE(stream->Write(Config(1, v1::OVERFLOW_DROP_OLDEST, 1)));
  constexpr int kFrames = 24;
  std::vector<std::string> frames;
  for (int i = 0; i < kFrames; ++i) frames.push_back(Frame(face, i));
  for (int i = 0; i < kFrames; ++i) ASSERT_TRUE(stream->Write(FrameRequest(frames[i], i)));
  stream->WritesDone();
  std::vector<int64_t> answered, skipped;
  for (v1::StreamResponse r; stream->Read(&r);) {
    answered.push_back(r.sequence());
    for (int64_t s : r.skipped_sequences()) skipped.push_back(s);
  }
  ASSERT_TRUE(stream->Finish().ok());
  std::printf("DROP_OLDEST, queue 1, %d frames sent at once: %zu answered, %zu skipped\n",
              kFrames, answered.size(), skipped.size());
  EXPECT_FALSE(skipped.empty()) << "nothing was skipped: the sender was not faster";
  EXPECT_TRUE(std::is_sorted(answered.begin(), answered.end()));
  std::set<int64_t> all(answered.begin(), answered.end());
  for (int64_t s : skipped) EXPECT_TRUE(all.insert(s).second) << s << " answered and skipped";
  // Every frame is either answered or reported skipped, except those skipped
  // after the last answer (reported with the next one, which never comes).
  EXPECT_LE(all.size(), static_cast<size_t>(kFrames));
  EXPECT_EQ(answered.back(), kFrames - 1);  // the newest frame is always kept
}

TEST_F(StreamTest, ProtocolErrorsEndTheStreamWithTheField) {
  const cv::Mat face = FacePatch();
  auto stub = Stub();
  {  // a frame before the config
    grpc::ClientContext ctx;
    auto stream = stub->AnalyzeStream(&ctx);
    stream->Write(FrameRequest(Frame(face, 0), 0));
    stream->WritesDone();
    const grpc::Status s = Drain(stream.get());
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("config"), std::string::npos) << s.error_message();
  }
  {  // a timestamp that goes back
    grpc::ClientContext ctx;
    auto stream = stub->AnalyzeStream(&ctx);
    stream->Write(Config(1, v1::OVERFLOW_BLOCK));
    stream->Write(FrameRequest(Frame(face, 0), 5));
    stream->Write(FrameRequest(Frame(face, 1), 4));
    stream->WritesDone();
    const grpc::Status s = Drain(stream.get());
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("timestamp"), std::string::npos) << s.error_message();
  }
  {  // a bad option
    grpc::ClientContext ctx;
    auto stream = stub->AnalyzeStream(&ctx);
    stream->Write(Config(31, v1::OVERFLOW_BLOCK));
    stream->WritesDone();
    EXPECT_EQ(Drain(stream.get()).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
}

// Last: it stops the server.
TEST_F(StreamTest, StreamsHaveTheirOwnBudgetAndEndWithUnavailableOnSigterm) {
  const cv::Mat face = FacePatch();
  auto stub = Stub();
  // Two streams open (server.max_streams=2), configured, idle.
  grpc::ClientContext ctx1, ctx2, ctx3;
  auto s1 = stub->AnalyzeStream(&ctx1);
  auto s2 = stub->AnalyzeStream(&ctx2);
  ASSERT_TRUE(s1->Write(Config(1, v1::OVERFLOW_BLOCK)));
  ASSERT_TRUE(s2->Write(Config(1, v1::OVERFLOW_BLOCK)));
  ASSERT_TRUE(s1->Write(FrameRequest(Frame(face, 0), 0)));
  v1::StreamResponse first;
  ASSERT_TRUE(s1->Read(&first));  // the first stream is being served
  // A third is refused at once; a unary call is still served.
  auto s3 = stub->AnalyzeStream(&ctx3);
  s3->WritesDone();
  const grpc::Status refused = Drain(s3.get());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("max_streams"), std::string::npos);
  v1::AnalyzeRequest unary;
  unary.mutable_image()->set_encoded(Frame(face, 3));
  v1::AnalyzeResponse answer;
  grpc::ClientContext unary_ctx;
  EXPECT_TRUE(stub->Analyze(&unary_ctx, unary, &answer).ok());
  EXPECT_EQ(answer.faces_size(), 1);

  // SIGTERM: both open streams end with UNAVAILABLE; the process exits 0.
  ASSERT_EQ(kill(server_->pid(), SIGTERM), 0);
  for (auto* s : {s1.get(), s2.get()}) {
    const grpc::Status st = Drain(s);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  }
  ASSERT_TRUE(server_->Exited(absl::Seconds(30))) << server_->log();
  EXPECT_EQ(server_->DescribeExit(), "exit status 0") << server_->log();
}

TEST(StreamIdleTest, AClientThatSendsNothingIsEndedWithStreamIdle) {
  ServerProcess server(std::vector<std::string>{
      FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml", "--set",
      "server.listen=127.0.0.1:0", "--set", "metrics.listen=", "--set", "http.listen=", "--set",
      "device.device=cpu", "--set", "server.stream_idle_timeout_ms=2000", "--set",
      "models_dir=" + kSourceDir + "/models/exported"});
  const int port = server.WaitForPort(absl::Seconds(120));
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials());
  testing::WaitUntil([&] { return HealthCheck(channel, "") == testing::kServing; },
                     absl::Seconds(180));
  auto stub = v1::FaceService::NewStub(channel);
  const cv::Mat face = FacePatch();
  grpc::ClientContext ctx;
  auto stream = stub->AnalyzeStream(&ctx);
  ASSERT_TRUE(stream->Write(Config(1, v1::OVERFLOW_BLOCK)));
  // From the frame on the server waits for the client's next message (a
  // frame in the pipeline does not stop the clock: the client may send the
  // next one meanwhile). The timeout is well above one frame's processing,
  // under the sanitizers too.
  ASSERT_TRUE(stream->Write(FrameRequest(Frame(face, 0), 0)));
  const absl::Time sent = absl::Now();
  v1::StreamResponse response;
  ASSERT_TRUE(stream->Read(&response)) << server.log();
  EXPECT_EQ(response.faces_size(), 1);
  // Then nothing: the stream ends once the timeout has passed (and within
  // the sweep after it).
  const grpc::Status end = Drain(stream.get());
  const absl::Duration waited = absl::Now() - sent;
  EXPECT_EQ(end.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << end.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(end)), ErrorReason::kStreamIdle) << end.error_message();
  EXPECT_NE(end.error_message().find("stream_idle_timeout_ms"), std::string::npos);
  EXPECT_GE(waited, absl::Milliseconds(1900));
  EXPECT_LE(waited, absl::Seconds(8));
  // Its budget is back: server.max_streams (16) streams open again, each
  // answered.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<v1::StreamRequest, v1::StreamResponse>>> open;
  for (int i = 0; i < 16; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    open.push_back(stub->AnalyzeStream(contexts.back().get()));
    ASSERT_TRUE(open.back()->Write(Config(1, v1::OVERFLOW_BLOCK)));
    open.back()->WritesDone();
  }
  for (auto& s : open) EXPECT_TRUE(Drain(s.get()).ok());
}

}  // namespace
}  // namespace faceserve
