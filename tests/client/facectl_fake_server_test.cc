// facectl end to end against an in-process fake FaceService over real gRPC
// on loopback: checks what the subcommands send, print and write.
#include <atomic>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/error_reason.h"
#include "proto/rpc_status.h"
#include "client/facectl.h"
#include "client/image_files.h"
#include "faceserve/v1/face_service.grpc.pb.h"

namespace faceserve::client {
namespace {

namespace v1 = faceserve::v1;
namespace fs = std::filesystem;

// "Images" are text: "fail" cannot be decoded; "noface:x,y" has no detectable
// face but embeds to (x, y) as a crop; "x,y" has one face embedding to (x, y).
class FakeFaceService final : public v1::FaceService::CallbackService {
 public:
  std::atomic<int> analyze_calls{0};
  std::atomic<int> embed_calls{0};
  std::atomic<int> whole_image_embeds{0};
  std::atomic<int> detect_only_calls{0};

  grpc::ServerUnaryReactor* Analyze(grpc::CallbackServerContext* context,
                                    const v1::AnalyzeRequest* request,
                                    v1::AnalyzeResponse* response) override {
    ++analyze_calls;
    if (request->options().detect_only()) ++detect_only_calls;
    auto* reactor = context->DefaultReactor();
    if (request->image().encoded() == "fail") {
      // As the real server answers: with its ErrorInfo reason.
      reactor->Finish(ToGrpcStatus(WithReason(absl::InvalidArgumentError("cannot decode image"),
                                              ErrorReason::kImageUndecodable)));
      return reactor;
    }
    response->set_image_width_px(64);
    response->set_image_height_px(48);
    v1::Face* face = response->add_faces();
    face->mutable_box()->set_x2(10);
    face->mutable_box()->set_y2(12);
    face->set_detection_score(0.5f);
    face->set_truncated(true);  // the box starts at the image's corner
    face->set_detector_model("fake_detector");
    v1::Prediction* p = face->add_predictions();
    p->set_predictor("expression");
    p->set_model("face_expression");
    p->add_outputs()->mutable_classification()->set_label(
        request->options().predictors_size() > 0 ? request->options().predictors(0) : "all");
    if (request->options().return_embeddings()) {
      v1::Prediction* e = face->add_predictions();
      e->set_predictor("descriptor");
      e->add_outputs()->mutable_embedding()->add_values(1);
    }
    if (request->options().return_face_crops()) face->set_crop_jpeg("CROP");
    if (request->options().return_annotated_image()) response->set_annotated_jpeg("ANNOTATED");
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Embed(grpc::CallbackServerContext* context,
                                  const v1::EmbedRequest* request,
                                  v1::EmbedResponse* response) override {
    ++embed_calls;
    auto* reactor = context->DefaultReactor();
    absl::string_view text = request->image().encoded();
    const bool no_face = absl::ConsumePrefix(&text, "noface:");
    const bool whole = request->selection() == v1::FACE_SELECTION_WHOLE_IMAGE;
    whole_image_embeds += whole ? 1 : 0;
    response->set_model("fake_recognition");
    if (!no_face || whole) {
      v1::FaceEmbedding* f = response->add_faces();
      for (absl::string_view v : absl::StrSplit(text, ',')) {
        float x = 0;
        if (!absl::SimpleAtof(v, &x)) {
          reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad image"));
          return reactor;
        }
        f->mutable_embedding()->add_values(x);
      }
    }
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const v1::VerifyRequest* request,
                                   v1::VerifyResponse* response) override {
    auto* reactor = context->DefaultReactor();
    response->set_threshold(request->threshold() != 0 ? request->threshold() : 0.5f);
    response->set_model("fake_recognition");
    response->set_similarity(request->a().has_image() &&
                                     request->a().selection() == v1::FACE_SELECTION_WHOLE_IMAGE
                                 ? 0.25f
                                 : 0.75f);
    response->set_match(response->similarity() >= response->threshold());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class FacectlFakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
    dir_ = fs::path(::testing::TempDir()) /
           ("facectl_test_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_->Shutdown();
    fs::remove_all(dir_);
  }

  std::string File(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    EXPECT_TRUE(WriteFileBytes(path, content).ok());
    return path;
  }

  struct CliRun {
    int code;
    std::string out;
    std::string err;
  };
  CliRun Facectl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--server", address_});
    std::ostringstream out, err;
    const int code = RunFacectl(args, out, err);
    return {code, out.str(), err.str()};
  }
  static std::vector<nlohmann::json> Lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

  FakeFaceService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  fs::path dir_;
};

TEST_F(FacectlFakeServerTest, AnalyzePrintsJsonLinesAndWritesIndexedDrawingsAndCrops) {
  const std::string a = File("a.jpg", "1,0");
  const std::string b = File("b.jpg", "0,1");
  const std::string draw = (dir_ / "annotated.jpg").string();
  const std::string crops = (dir_ / "crops").string();
  const CliRun r = Facectl({"analyze", a, b, "--predictors", "expression", "--draw", draw, "--crops",
                         crops, "--embeddings"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["image"], a);
  EXPECT_EQ(lines[1]["image"], b);
  EXPECT_EQ(lines[0]["width"], 64);
  EXPECT_EQ(lines[0]["faces"][0]["predictions"]["expression"]["label"], "expression");
  EXPECT_EQ(lines[0]["faces"][0]["predictions"]["descriptor"]["embedding"],
            nlohmann::json::parse("[1]"));
  EXPECT_EQ(lines[1]["annotated"], (dir_ / "annotated_1.jpg").string());
  EXPECT_EQ(*ReadFileBytes((dir_ / "annotated_0.jpg").string()), "ANNOTATED");
  EXPECT_EQ(lines[0]["faces"][0]["crop"], crops + "/a_face0.jpg");
  EXPECT_EQ(*ReadFileBytes(crops + "/b_face0.jpg"), "CROP");
}

TEST_F(FacectlFakeServerTest, AnalyzeDetectOnlyAsksForDetectionAloneAndPrintsTruncated) {
  const CliRun r = Facectl({"analyze", File("a.jpg", "1,0"), "--detect-only"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(service_.detect_only_calls.load(), 1);
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["faces"][0]["truncated"], true);
  // Without the flag, the predictors run as before.
  ASSERT_EQ(Facectl({"analyze", File("b.jpg", "1,0")}).code, 0);
  EXPECT_EQ(service_.detect_only_calls.load(), 1);
  // Detection alone and a predictor list contradict each other.
  const CliRun both = Facectl({"analyze", File("c.jpg", "1,0"), "--detect-only", "--predictors",
                               "expression"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("--detect-only"), std::string::npos) << both.err;
}

TEST_F(FacectlFakeServerTest, AnalyzeReportsAFailingImageAndGoesOn) {
  const CliRun r = Facectl({"analyze", File("bad.jpg", "fail"), File("good.jpg", "1,0")});
  EXPECT_EQ(r.code, 1);
  // The code, then the server's reason, then the file and the message.
  EXPECT_NE(r.err.find("error: INVALID_ARGUMENT [IMAGE_UNDECODABLE]: "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("bad.jpg: cannot decode image"), std::string::npos) << r.err;
  ASSERT_EQ(Lines(r.out).size(), 1u);
  EXPECT_EQ(service_.analyze_calls.load(), 2);
}

TEST_F(FacectlFakeServerTest, EmbedAndVerify) {
  const CliRun e = Facectl({"embed", File("c.jpg", "noface:0.6,0.8"), "--crop"});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(Lines(e.out)[0]["faces"][0]["embedding"], nlohmann::json::parse("[0.6, 0.8]"));
  EXPECT_EQ(Lines(e.out)[0]["model"], "fake_recognition");
  EXPECT_EQ(service_.whole_image_embeds.load(), 1);

  const CliRun v = Facectl({"verify", File("a.jpg", "1,0"), File("b.jpg", "1,0"), "--crops"});
  ASSERT_EQ(v.code, 0) << v.err;
  const auto j = Lines(v.out)[0];
  EXPECT_EQ(j["similarity"].get<double>(), 0.25);
  EXPECT_EQ(j["match"], false);
  EXPECT_EQ(j["threshold"].get<double>(), 0.5);
  EXPECT_EQ(j["model"], "fake_recognition");
}

TEST_F(FacectlFakeServerTest, EvalVerifyEmbedsEachImageOnceFallingBackToCrops) {
  fs::create_directories(dir_ / "p");
  File("p/a.jpg", "1,0");
  File("p/b.jpg", "1,0.1");
  File("p/c.jpg", "noface:0,1");
  File("p/d.jpg", "0.1,1");
  const std::string csv = File("pairs.csv",
                               "img_a,img_b,same,source\n"
                               "p/a.jpg,p/b.jpg,1,x\n"
                               "p/c.jpg,p/d.jpg,1,x\n"
                               "p/a.jpg,p/c.jpg,0,x\n"
                               "p/b.jpg,p/d.jpg,0,x\n");
  const CliRun r = Facectl({"eval-verify", csv, "--root", dir_.string(), "--concurrency", "3", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = Lines(r.out)[0];
  EXPECT_EQ(j["pairs"], 4);
  EXPECT_EQ(j["images"], 4);
  EXPECT_EQ(j["images_as_crops"], 1);
  EXPECT_EQ(j["model"], "fake_recognition");
  EXPECT_EQ(j["threshold"].get<double>(), 0.5);
  EXPECT_EQ(j["threshold_source"], "server");
  EXPECT_EQ(j["accuracy"].get<double>(), 1.0);
  EXPECT_EQ(j["best_accuracy"].get<double>(), 1.0);
  EXPECT_EQ(j["roc_auc"].get<double>(), 1.0);
  EXPECT_EQ(j["tar_at_far"]["1e-2"]["tar"].get<double>(), 1.0);
  // Four images, one retried as a crop.
  EXPECT_EQ(service_.embed_calls.load(), 5);

  // Text output, and the threshold from the flag.
  const CliRun t = Facectl({"eval-verify", csv, "--root", dir_.string(), "--threshold", "0.999"});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("accuracy at threshold 0.9990 (--threshold): 0.5000"), std::string::npos)
      << t.out;
  EXPECT_NE(t.out.find("ROC AUC: 1.0000"), std::string::npos) << t.out;
}

// --crops: the images it names are embedded whole at once, even when a
// detector would find a face in them (the fake server finds one in every
// image not marked "noface").
TEST_F(FacectlFakeServerTest, EvalVerifyEmbedsTheImagesCropsNamesWhole) {
  fs::create_directories(dir_ / "p");
  fs::create_directories(dir_ / "q");
  File("p/a.jpg", "1,0");
  File("p/b.jpg", "1,0.1");
  File("q/dlib_c.jpg", "0,1");
  File("q/dlib_d.jpg", "0.1,1");
  const std::string csv = File("pairs.csv",
                               "img_a,img_b,same,source\n"
                               "p/a.jpg,p/b.jpg,1,x\n"
                               "q/dlib_c.jpg,q/dlib_d.jpg,1,x\n"
                               "p/a.jpg,q/dlib_c.jpg,0,x\n");
  const CliRun r = Facectl({"eval-verify", csv, "--root", dir_.string(), "--crops",
                            "*/dlib_*,nothing/*", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = Lines(r.out)[0];
  EXPECT_EQ(j["images"], 4);
  EXPECT_EQ(j["images_as_crops"], 2);
  EXPECT_EQ(j["accuracy"].get<double>(), 1.0);
  // One call per image: no detection attempt before the crops.
  EXPECT_EQ(service_.embed_calls.load(), 4);
  EXPECT_EQ(service_.whole_image_embeds.load(), 2);
}

TEST_F(FacectlFakeServerTest, EvalVerifyFailsOnAMissingImage) {
  const std::string csv = File("pairs.csv", "img_a,img_b,same\nx.jpg,y.jpg,1\n");
  const CliRun r = Facectl({"eval-verify", csv});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: NOT_FOUND: "), std::string::npos) << r.err;
}

TEST_F(FacectlFakeServerTest, BenchRunsExactlyTheRequestedCallsRoundRobin) {
  const CliRun r = Facectl({"bench", "--concurrency", "16", "--requests", "200", "--json",
                         File("a.jpg", "1,0"), File("b.jpg", "0,1")});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = Lines(r.out)[0];
  EXPECT_EQ(j["requests"], 200);
  EXPECT_EQ(j["ok"], 200);
  EXPECT_TRUE(j["errors"].empty());
  EXPECT_EQ(j["faces_per_image"].get<double>(), 1.0);
  EXPECT_GT(j["latency_ms"]["p99"].get<double>(), 0);
  EXPECT_GE(j["latency_ms"]["max"].get<double>(), j["latency_ms"]["p50"].get<double>());
  EXPECT_EQ(service_.analyze_calls.load(), 200);
}

TEST_F(FacectlFakeServerTest, BenchWith256InFlightOverSeveralChannels) {
  const CliRun r = Facectl({"bench", "--concurrency", "256", "--channels", "4", "--requests",
                            "2000", "--json", File("a.jpg", "1,0")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out)[0]["ok"], 2000);
  EXPECT_EQ(service_.analyze_calls.load(), 2000);
}

TEST_F(FacectlFakeServerTest, BenchCountsErrorsByCodeAndExitsOne) {
  const CliRun r = Facectl({"bench", "--concurrency", "4", "--duration", "0.3", "--rpc", "analyze",
                         File("a.jpg", "1,0"), File("bad.jpg", "fail")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("errors: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("INVALID_ARGUMENT: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("latency (ms): p50 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("failed-call latency (ms): p50 "), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("error: INVALID_ARGUMENT: "), std::string::npos) << r.err;

  const CliRun e = Facectl({"bench", "--requests", "10", "--rpc", "embed", File("c.jpg", "1,0")});
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(service_.embed_calls.load(), 10);
}

TEST_F(FacectlFakeServerTest, BenchJsonSummarisesFailedCallsApart) {
  const CliRun r = Facectl({"bench", "--concurrency", "2", "--requests", "40", "--json",
                            File("a.jpg", "1,0"), File("bad.jpg", "fail")});
  EXPECT_EQ(r.code, 1);
  const auto j = Lines(r.out)[0];
  EXPECT_EQ(j["ok"], 20);
  EXPECT_EQ(j["errors"]["INVALID_ARGUMENT"], 20);
  EXPECT_GT(j["error_latency_ms"]["p50"].get<double>(), 0);
  EXPECT_GE(j["error_latency_ms"]["max"].get<double>(), j["error_latency_ms"]["p99"].get<double>());
  EXPECT_FALSE(j.contains("offered_requests_per_s"));
}

TEST_F(FacectlFakeServerTest, BenchRateStartsCallsOnASchedule) {
  // 20 calls at 50 per second: the last starts 0.38 s after the first, however
  // fast the server answers (closed loop, they would take milliseconds).
  const CliRun r = Facectl({"bench", "--concurrency", "64", "--requests", "20", "--rate", "50",
                            "--json", File("a.jpg", "1,0")});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = Lines(r.out)[0];
  EXPECT_EQ(j["ok"], 20);
  EXPECT_EQ(j["offered_requests_per_s"].get<double>(), 50.0);
  EXPECT_GE(j["wall_s"].get<double>(), 0.38);
  EXPECT_LT(j["wall_s"].get<double>(), 5.0);
  EXPECT_NE(Facectl({"bench", "--requests", "1", "--rate", "0", File("a.jpg", "1,0")}).code, 0);
}

// The fake finds one face at (0,0)-(10,12) in every image it can decode.
TEST_F(FacectlFakeServerTest, EvalDetectCountsMatchesMissesAndFalsePositives) {
  File("a.jpg", "1,0");
  File("b.jpg", "0,1");
  fs::create_directories(dir_ / "images");
  File("images/empty.jpg", "1,1");  // found in the images/ folder
  const std::string boxes = File("boxes.csv",
                                 "image,x1,y1,x2,y2\n"
                                 "a.jpg,0,0,10,12\n"      // matched
                                 "a.jpg,50,50,60,60\n"    // missed
                                 "b.jpg,1,1,11,13\n");    // IoU 0.70: matched at 0.4, not at 0.8
  const std::string list = File("images.csv", "image,num_faces\na.jpg,2\nb.jpg,1\nempty.jpg,0\n");
  CliRun r = Facectl({"eval-detect", boxes, "--images", list, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = Lines(r.out)[0];
  EXPECT_EQ(j["images"], 3);
  EXPECT_EQ(j["annotated_faces"], 3);
  EXPECT_EQ(j["matched_faces"], 2);
  EXPECT_NEAR(j["recall"].get<double>(), 2.0 / 3, 1e-9);
  EXPECT_EQ(j["unmatched_detections"], 0);
  EXPECT_EQ(j["no_face_images"], 1);
  EXPECT_EQ(j["false_positives"], 1);
  EXPECT_EQ(j["detector"], "fake_detector");
  EXPECT_EQ(service_.detect_only_calls.load(), 3);

  r = Facectl({"eval-detect", boxes, "--iou", "0.8"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("recall at IoU 0.80: 1/3 = 0.3333"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("images: 2 (0 without a face)"), std::string::npos) << r.out;
}

TEST_F(FacectlFakeServerTest, EvalDetectFailsOnBadRowsAndMissingImages) {
  CliRun r = Facectl({"eval-detect", File("bad.csv", "image,x1,y1,x2,y2\na.jpg,0,0,ten,12\n")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("expected image,x1,y1,x2,y2, got 'a.jpg,0,0,ten,12'"), std::string::npos)
      << r.err;
  r = Facectl({"eval-detect", File("missing.csv", "image,x1,y1,x2,y2\nnope.jpg,0,0,1,1\n")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: NOT_FOUND: "), std::string::npos) << r.err;
  File("f.jpg", "fail");
  r = Facectl({"eval-detect", File("fail.csv", "image,x1,y1,x2,y2\nf.jpg,0,0,1,1\n")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("error: INVALID_ARGUMENT [IMAGE_UNDECODABLE]: "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("f.jpg: cannot decode"), std::string::npos) << r.err;
}

TEST_F(FacectlFakeServerTest, HealthIsServing) {
  const CliRun r = Facectl({"health"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "SERVING\n");
}

}  // namespace
}  // namespace faceserve::client
