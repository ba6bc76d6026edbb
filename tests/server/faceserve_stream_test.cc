// AnalyzeStream on the real faceserve process with the real models on CPU,
// over loopback: frames made here by moving a real face (cut from one of
// face-api's demo photos) across a plain background. Checks one track id
// for the one person across frames with detection every 3rd frame, the
// answers in order and the end_of_stream response with each track's summary
// (best shot, smoothed attributes), the identity decided over frames from a
// gallery, the frames skipped under DROP_OLDEST reported, the errors,
// fairness between a stream of twenty faces and one of one, the idle
// timeout, the stream budget beside unary calls, the end on SIGTERM.
//
// Needs the faceserve binary (FACESERVE_BINARY) and the exported models.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
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
#include "faceserve/v1/gallery_service.grpc.pb.h"
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

std::string Jpeg(const cv::Mat& image) {
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 85});
  return std::string(jpeg.begin(), jpeg.end());
}

// Frame `i` of a 640x480 clip: the face moves 12 px right per frame.
std::string Frame(const cv::Mat& face, int i) {
  cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(90, 110, 120));
  face.copyTo(frame(cv::Rect(40 + 12 * i, 150, face.cols, face.rows)));
  return Jpeg(frame);
}

// Twenty faces in a 5x4 grid (the same person twenty times: what matters
// here is the work per frame).
std::string CrowdFrame(const cv::Mat& face) {
  cv::Mat frame(4 * 190, 5 * 170, CV_8UC3, cv::Scalar(90, 110, 120));
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 5; ++c) face.copyTo(frame(cv::Rect(10 + 170 * c, 8 + 190 * r, face.cols, face.rows)));
  }
  return Jpeg(frame);
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

// Every response of a stream that sends `frames` (detecting every
// `detect_every`th) and closes, read while writing, as a video client does:
// with BLOCK the server stops reading while it is behind, and a client that
// only wrote would wait.
struct StreamRun {
  std::vector<v1::StreamResponse> responses;
  bool written = false;
  grpc::Status status;
};
StreamRun RunStream(v1::FaceService::Stub* stub, const v1::StreamRequest& config,
                    const std::vector<std::string>& frames) {
  StreamRun run;
  grpc::ClientContext ctx;
  auto stream = stub->AnalyzeStream(&ctx);
  std::thread reader([&] {
    for (v1::StreamResponse r; stream->Read(&r);) run.responses.push_back(r);
  });
  run.written = stream->Write(config);
  for (size_t i = 0; i < frames.size() && run.written; ++i) {
    run.written = stream->Write(FrameRequest(frames[i], static_cast<int64_t>(i)));
  }
  stream->WritesDone();
  reader.join();
  run.status = stream->Finish();
  return run;
}

// The idle timeout of the suite's server: far above one frame's processing
// under the sanitizers, so that only the idle test meets it.
constexpr int kIdleTimeoutMs = 6000;

class StreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gallery_db_ = new std::string(
        (std::filesystem::temp_directory_path() / absl::StrCat("faceserve_stream_", getpid(), ".sqlite"))
            .string());
    // No preheat (not what this suite tests, and a minute under ASan): the
    // first test warms the models up.
    server_ = new ServerProcess(std::vector<std::string>{
        FACESERVE_BINARY, "--config", kSourceDir + "/config/default.yaml", "--set",
        "server.listen=127.0.0.1:0", "--set", "metrics.listen=", "--set", "http.listen=",
        "--set", "device.device=cpu", "--set", "device.preheat=false", "--set",
        "server.max_streams=2", "--set",
        absl::StrCat("server.stream_idle_timeout_ms=", kIdleTimeoutMs), "--set",
        "gallery.sqlite.path=" + *gallery_db_, "--set",
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
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(*gallery_db_ + suffix);
    delete gallery_db_;
  }
  // The suite shares one server: when a failing test finds it gone, its
  // exit and its log (a sanitizer's report) say why.
  void TearDown() override {
    if (HasFailure() && server_->Exited(absl::ZeroDuration())) {
      ADD_FAILURE() << "the server is gone: " << server_->DescribeExit() << "\n" << server_->log();
    }
  }
  std::unique_ptr<v1::FaceService::Stub> Stub() { return v1::FaceService::NewStub(*channel_); }
  std::unique_ptr<v1::GalleryService::Stub> Galleries() {
    return v1::GalleryService::NewStub(*channel_);
  }
  // Whether server.max_streams (2) streams open and are answered now. A
  // stream's slot is freed before its status is sent, but a cancelled
  // stream with a frame in the pipeline keeps it until that frame is done.
  bool BothStreamsOpen() {
    auto stub = Stub();
    std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
    std::vector<std::unique_ptr<grpc::ClientReaderWriter<v1::StreamRequest, v1::StreamResponse>>> open;
    for (int i = 0; i < 2; ++i) {
      contexts.push_back(std::make_unique<grpc::ClientContext>());
      open.push_back(stub->AnalyzeStream(contexts.back().get()));
      open.back()->Write(Config(1, v1::OVERFLOW_BLOCK));
      open.back()->WritesDone();
    }
    bool ok = true;
    for (auto& s : open) ok &= Drain(s.get()).ok();
    if (!ok) absl::SleepFor(absl::Milliseconds(50));  // polled: not too often
    return ok;
  }

  static ServerProcess* server_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static std::string* gallery_db_;
};
ServerProcess* StreamTest::server_ = nullptr;
std::shared_ptr<grpc::Channel>* StreamTest::channel_ = nullptr;
std::string* StreamTest::gallery_db_ = nullptr;

TEST_F(StreamTest, OnePersonKeepsOneTrackWithDetectionEveryThirdFrame) {
  const cv::Mat face = FacePatch();
  auto stub = Stub();
  constexpr int kFrames = 30;
  std::vector<std::string> frames;
  for (int i = 0; i < kFrames; ++i) frames.push_back(Frame(face, i));
  v1::StreamRequest config = Config(3, v1::OVERFLOW_BLOCK);
  config.mutable_config()->set_return_best_shots(true);
  const StreamRun run = RunStream(stub.get(), config, frames);
  ASSERT_TRUE(run.written);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message() << " " << server_->log();

  // BLOCK: none skipped; then the end_of_stream response.
  const std::vector<v1::StreamResponse>& responses = run.responses;
  ASSERT_EQ(responses.size(), static_cast<size_t>(kFrames) + 1);
  std::set<int64_t> ids;
  for (int i = 0; i < kFrames; ++i) {
    const v1::StreamResponse& r = responses[i];
    EXPECT_EQ(r.sequence(), i);
    EXPECT_FALSE(r.end_of_stream());
    EXPECT_EQ(r.detected(), i % 3 == 0) << "frame " << i;
    EXPECT_TRUE(r.skipped_sequences().empty());
    ASSERT_EQ(r.faces_size(), 1) << "frame " << i;
    ids.insert(r.faces(0).track_id());
    const v1::Box& b = r.faces(0).face().box();
    const float cx = (b.x1() + b.x2()) / 2, truth = 40 + 12 * i + 75;
    EXPECT_NEAR(cx, truth, 25) << "frame " << i;
    EXPECT_TRUE(r.faces(0).face().crop_jpeg().empty()) << "crops are for the best shot only";
    if (r.detected()) {
      EXPECT_GT(r.faces(0).face().predictions_size(), 0) << "frame " << i;
    } else {
      EXPECT_EQ(r.faces(0).face().predictions_size(), 0) << "frame " << i;
    }
    // The track's smoothed age and gender on every frame, detected or not.
    ASSERT_EQ(r.faces(0).smoothed_predictions_size(), 1) << "frame " << i;
    EXPECT_EQ(r.faces(0).smoothed_predictions(0).predictor(), "age_gender");
    EXPECT_FALSE(r.faces(0).has_identity()) << "no gallery asked";
  }
  EXPECT_EQ(ids.size(), 1u);
  ASSERT_GT(responses[0].events_size(), 0);
  EXPECT_EQ(responses[0].events(0).kind(), v1::TRACK_STARTED);

  // The end: the one track ended with what was learned over its 10
  // detected frames.
  const v1::StreamResponse& end = responses.back();
  EXPECT_TRUE(end.end_of_stream());
  EXPECT_EQ(end.sequence(), kFrames - 1);
  EXPECT_EQ(end.faces_size(), 0);
  ASSERT_EQ(end.events_size(), 1);
  const v1::TrackEvent& ended = end.events(0);
  EXPECT_EQ(ended.kind(), v1::TRACK_ENDED);
  EXPECT_EQ(ended.track_id(), *ids.begin());
  const v1::TrackSummary& summary = ended.summary();
  EXPECT_EQ(summary.detected_frames(), kFrames / 3);
  ASSERT_TRUE(summary.has_best_shot());
  const v1::BestShot& shot = summary.best_shot();
  EXPECT_EQ(shot.sequence() % 3, 0);
  EXPECT_EQ(shot.timestamp_us(), 40000 * (shot.sequence() + 1));
  EXPECT_GT(shot.quality(), 0.2f);
  EXPECT_LE(shot.quality(), 1.0f);
  // The crop is the box's pixels, and the face there is the frame's.
  const std::string& crop_bytes = shot.crop_jpeg();
  const cv::Mat crop = cv::imdecode(std::vector<uchar>(crop_bytes.begin(), crop_bytes.end()),
                                    cv::IMREAD_COLOR);
  ASSERT_FALSE(crop.empty());
  EXPECT_NEAR(crop.cols, shot.box().x2() - shot.box().x1(), 2);
  EXPECT_NEAR(crop.rows, shot.box().y2() - shot.box().y1(), 2);
  const v1::TrackedFace& at_shot = responses[shot.sequence()].faces(0);
  EXPECT_FLOAT_EQ(shot.box().x1(), at_shot.face().box().x1());
  // The smoothed gender is one of the frames' labels, and the summary's is
  // the last frame's.
  ASSERT_EQ(summary.smoothed_predictions_size(), 1);
  const v1::Prediction& last = responses[kFrames - 1].faces(0).smoothed_predictions(0);
  EXPECT_EQ(summary.smoothed_predictions(0).SerializeAsString(), last.SerializeAsString());
}

TEST_F(StreamTest, AGalleryNamesTheTrackOnceFromSeveralFrames) {
  const cv::Mat face = FacePatch();
  auto galleries = Galleries();
  for (const char* name : {"stream_people", "stream_empty"}) {
    v1::CreateGalleryRequest create;
    create.set_name(name);
    v1::Gallery created;
    grpc::ClientContext ctx;
    const grpc::Status st = galleries->CreateGallery(&ctx, create, &created);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  v1::EnrollRequest enroll;
  enroll.set_gallery("stream_people");
  enroll.set_subject("sample1-woman");
  enroll.add_inputs()->mutable_image()->set_encoded(Frame(face, 12));
  v1::EnrollResponse enrolled;
  {
    grpc::ClientContext ctx;
    const grpc::Status st = galleries->Enroll(&ctx, enroll, &enrolled);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  constexpr int kFrames = 24;
  std::vector<std::string> frames;
  for (int i = 0; i < kFrames; ++i) frames.push_back(Frame(face, i));
  auto stub = Stub();

  v1::StreamRequest config = Config(2, v1::OVERFLOW_BLOCK);
  config.mutable_config()->mutable_options()->mutable_identify()->set_gallery("stream_people");
  const StreamRun run = RunStream(stub.get(), config, frames);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message() << " " << server_->log();
  ASSERT_EQ(run.responses.size(), static_cast<size_t>(kFrames) + 1);
  // One TRACK_IDENTIFIED, no sooner than the third detected frame (three
  // votes); from there on every frame carries the track's identity.
  int identified_at = -1, identified_events = 0;
  for (int i = 0; i < kFrames; ++i) {
    const v1::StreamResponse& r = run.responses[i];
    for (const v1::TrackEvent& e : r.events()) {
      if (e.kind() != v1::TRACK_IDENTIFIED) continue;
      ++identified_events;
      identified_at = i;
      EXPECT_EQ(e.identity().subject(), "sample1-woman");
      EXPECT_GE(e.identity().votes(), 3);
      EXPECT_GE(e.identity().similarity(), e.identity().threshold());
    }
    ASSERT_EQ(r.faces_size(), 1) << "frame " << i;
    const v1::TrackedFace& f = r.faces(0);
    EXPECT_EQ(f.has_identity(), identified_at >= 0) << "frame " << i;
    if (f.has_identity()) {
      EXPECT_EQ(f.identity().subject(), "sample1-woman");
    }
    // Each detected frame's own answer, as Analyze gives it.
    if (r.detected()) {
      ASSERT_TRUE(f.face().has_identity()) << "frame " << i;
      EXPECT_TRUE(f.face().identity().identified()) << "frame " << i;
    }
  }
  EXPECT_EQ(identified_events, 1);
  EXPECT_GE(identified_at, 4);  // frames 0, 2, 4 detected
  const v1::StreamResponse& end = run.responses.back();
  ASSERT_TRUE(end.end_of_stream());
  ASSERT_EQ(end.events_size(), 1);
  EXPECT_EQ(end.events(0).summary().identity().subject(), "sample1-woman");
  EXPECT_TRUE(end.events(0).summary().best_shot().crop_jpeg().empty()) << "not asked for";

  // Nobody enrolled: never identified, though every frame is searched.
  config.mutable_config()->mutable_options()->mutable_identify()->set_gallery("stream_empty");
  const StreamRun stranger = RunStream(stub.get(), config, frames);
  ASSERT_TRUE(stranger.status.ok()) << stranger.status.error_message();
  for (const v1::StreamResponse& r : stranger.responses) {
    for (const v1::TrackEvent& e : r.events()) EXPECT_NE(e.kind(), v1::TRACK_IDENTIFIED);
    for (const v1::TrackedFace& f : r.faces()) EXPECT_FALSE(f.has_identity());
  }

  // A gallery that does not exist is refused at the config.
  config.mutable_config()->mutable_options()->mutable_identify()->set_gallery("no_such_gallery");
  const StreamRun missing = RunStream(stub.get(), config, frames);
  EXPECT_EQ(missing.status.error_code(), grpc::StatusCode::NOT_FOUND) << missing.status.error_message();
  EXPECT_TRUE(missing.responses.empty());
}

// Round-robin at frame granularity: each stream has at most one frame in
// the pipeline, so a stream whose frames hold twenty faces takes its turn
// with the others, and a one-face stream beside it is answered at least as
// often. Unary calls are served meanwhile.
TEST_F(StreamTest, AStreamOfTwentyFacesDoesNotStarveOneOfOne) {
  const cv::Mat face = FacePatch();
  const std::string crowd = CrowdFrame(face), one = Frame(face, 10);
  auto stub = Stub();
  {  // the crowd frame really holds twenty faces
    v1::AnalyzeRequest r;
    r.mutable_image()->set_encoded(crowd);
    r.mutable_options()->set_detect_only(true);
    v1::AnalyzeResponse a;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub->Analyze(&ctx, r, &a).ok());
    ASSERT_EQ(a.faces_size(), 20);
  }
  struct Side {
    grpc::ClientContext ctx;
    std::atomic<int> answered{0}, faces{0};
    grpc::Status status;
  };
  // Each side sends as fast as its stream takes frames (BLOCK) until
  // cancelled; frames still buffered then are not counted.
  auto feed = [&](const std::string& frame, Side* side) {
    auto stream = stub->AnalyzeStream(&side->ctx);
    std::thread reader([&] {
      for (v1::StreamResponse r; stream->Read(&r);) {
        side->faces += r.faces_size();  // before `answered`, which is read first
        ++side->answered;
      }
    });
    bool ok = stream->Write(Config(1, v1::OVERFLOW_BLOCK));
    for (int64_t i = 0; ok; ++i) ok = stream->Write(FrameRequest(frame, i));
    reader.join();
    side->status = stream->Finish();
  };
  Side crowded, single;
  std::thread a(feed, crowd, &crowded), b(feed, one, &single);
  // Side by side until the 20-face stream has had 3 frames answered (a time
  // that does not depend on the build's speed), a unary call meanwhile.
  const absl::Time start = absl::Now();
  testing::WaitUntil([&] { return crowded.answered >= 1; }, absl::Seconds(120));
  v1::AnalyzeRequest unary;
  unary.mutable_image()->set_encoded(one);
  v1::AnalyzeResponse answer;
  grpc::ClientContext unary_ctx;
  const grpc::Status unary_status = stub->Analyze(&unary_ctx, unary, &answer);
  testing::WaitUntil([&] { return crowded.answered >= 3; }, absl::Seconds(120));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const int crowded_answered = crowded.answered, crowded_faces = crowded.faces,
            single_answered = single.answered;
  crowded.ctx.TryCancel();
  single.ctx.TryCancel();
  a.join();
  b.join();
  std::printf("%.1f s side by side: the 20-face stream answered %d frames (%d faces), the "
              "1-face stream %d\n", seconds, crowded_answered, crowded_faces, single_answered);
  // Both were being served until cancelled here.
  EXPECT_EQ(crowded.status.error_code(), grpc::StatusCode::CANCELLED) << crowded.status.error_message();
  EXPECT_EQ(single.status.error_code(), grpc::StatusCode::CANCELLED) << single.status.error_message();
  EXPECT_TRUE(unary_status.ok()) << unary_status.error_message();
  EXPECT_EQ(answer.faces_size(), 1);
  EXPECT_GE(crowded_answered, 3);
  EXPECT_GE(crowded_faces, 18 * crowded_answered);  // the twenty, tracked
  EXPECT_GE(single_answered, crowded_answered);
  // The cancelled streams' slots come back (each once its frame in the
  // pipeline is done), for the tests after this one.
  EXPECT_TRUE(testing::WaitUntil([&] { return BothStreamsOpen(); }, absl::Seconds(120)));
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
    if (r.end_of_stream()) continue;
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
  {  // a smoothing time out of range
    grpc::ClientContext ctx;
    auto stream = stub->AnalyzeStream(&ctx);
    v1::StreamRequest config = Config(1, v1::OVERFLOW_BLOCK);
    config.mutable_config()->set_smoothing_ms(60001);
    stream->Write(config);
    stream->WritesDone();
    const grpc::Status s = Drain(stream.get());
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("smoothing_ms"), std::string::npos) << s.error_message();
  }
}

TEST_F(StreamTest, AClientThatSendsNothingIsEndedWithStreamIdle) {
  auto stub = Stub();
  const cv::Mat face = FacePatch();
  grpc::ClientContext ctx;
  auto stream = stub->AnalyzeStream(&ctx);
  ASSERT_TRUE(stream->Write(Config(1, v1::OVERFLOW_BLOCK)));
  // From the frame on the server waits for the client's next message (a
  // frame in the pipeline does not stop the clock: the client may send the
  // next one meanwhile).
  ASSERT_TRUE(stream->Write(FrameRequest(Frame(face, 0), 0)));
  const absl::Time sent = absl::Now();
  v1::StreamResponse response;
  ASSERT_TRUE(stream->Read(&response)) << server_->log();
  EXPECT_EQ(response.faces_size(), 1);
  // Then nothing: the stream ends once the timeout has passed (and within
  // the sweep after it), with no end_of_stream (the client never closed).
  bool end_of_stream = false;
  for (v1::StreamResponse r; stream->Read(&r);) end_of_stream |= r.end_of_stream();
  const grpc::Status end = stream->Finish();
  const absl::Duration waited = absl::Now() - sent;
  EXPECT_FALSE(end_of_stream);
  EXPECT_EQ(end.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << end.error_message();
  EXPECT_EQ(ReasonOf(FromGrpcStatus(end)), ErrorReason::kStreamIdle) << end.error_message();
  EXPECT_NE(end.error_message().find("stream_idle_timeout_ms"), std::string::npos);
  EXPECT_GE(waited, absl::Milliseconds(kIdleTimeoutMs - 100));
  EXPECT_LE(waited, absl::Milliseconds(kIdleTimeoutMs) + absl::Seconds(6));
  // Its budget is back: server.max_streams (2) streams open again.
  EXPECT_TRUE(testing::WaitUntil([&] { return BothStreamsOpen(); }, absl::Seconds(5)));
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

}  // namespace
}  // namespace faceserve
