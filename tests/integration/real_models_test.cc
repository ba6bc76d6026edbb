// End to end: a real faceserve (config/default.yaml, or the configuration
// FACESERVE_CONFIG names, with the exported models on CPU) on a loopback port,
// called over real gRPC with real photos.
//
// ctest runs it twice (tests/integration/CMakeLists.txt): on the served
// default, and on config/faceapi.yaml, face-api's own pipeline, which the
// *FaceApi* test holds to face-api's own results on its demo photos
// (FACEAPI_DUMP_DIR, written by the models.faceapi_dump ctest fixture with
// models/reference/dump.js). The accuracy floors of each configuration
// (FACESERVE_MIN_DETECT_RECALL, FACESERVE_MIN_VERIFY_ACCURACY) are set there
// too. Needs the exported models (FACESERVE_MODELS_DIR).
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/config/config.h"
#include "core/pipeline/face_pipeline.h"
#include "core/torch/torch_model_loader.h"
#include "faceserve/v1/face_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/face_server.h"
#include "server/metrics.h"
#include "tests/testing/http_get.h"
#include "tests/testing/real_server.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

const fs::path kSource = FACESERVE_SOURCE_DIR;
const fs::path kShared = kSource / ".." / "shared" / "data" / "faces";
const fs::path kDemo = kSource / "models/reference/node_modules/@vladmandic/face-api/demo";

std::string Env(const char* name, const std::string& fallback) {
  return testing::EnvOr(name, fallback);
}

// config/default.yaml's accuracy floors, measured when its detector and
// verify threshold were chosen (README "Accuracy"): detect/ recall 43/43 at
// IoU 0.4, less one face; pairs.csv accuracy at the served threshold, less
// two pairs for float noise from batch composition.
constexpr double kDefaultMinDetectRecall = 0.976;
constexpr double kDefaultMinVerifyAccuracy = 0.992;  // 1386/1394 = 0.9943 measured

// A floor from the environment (ctest sets each configuration's own); the
// served default's when unset.
double Floor(const char* name, double fallback) {
  const std::string v = Env(name, "");
  return v.empty() ? fallback : std::stod(v);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

float IoU(const v1::Box& a, float x1, float y1, float x2, float y2) {
  const float ix = std::max(0.0f, std::min(a.x2(), x2) - std::max(a.x1(), x1));
  const float iy = std::max(0.0f, std::min(a.y2(), y2) - std::max(a.y1(), y1));
  const float inter = ix * iy;
  const float uni = (a.x2() - a.x1()) * (a.y2() - a.y1()) + (x2 - x1) * (y2 - y1) - inter;
  return uni > 0 ? inter / uni : 0;
}

// One server for the whole binary (tests/testing/real_server.h).
struct Server {
  static testing::RealServer& Get() {
    // The CPU configurations run the detector at batch 1 (fastest there);
    // batches of up to 4 here prove cross-request detector batching.
    static auto* server = new testing::RealServer({"detector.batching.max_batch_size=4"});
    return *server;
  }
};

// The model Embed and Verify use by default: the card name (the file stem)
// of the configured default embedding predictor's model.
std::string DefaultEmbeddingModel() {
  const Config& config = Server::Get().config();
  for (const PredictorConfig& p : config.predictors) {
    const bool embeds = std::any_of(p.heads.begin(), p.heads.end(), [](const HeadConfig& h) {
      return h.kind == HeadKind::kEmbedding;
    });
    if (p.name == config.default_embedding_predictor ||
        (config.default_embedding_predictor.empty() && embeds)) {
      return fs::path(p.model).stem().string();
    }
  }
  return "";
}

class RealModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Server::Get().error.empty()) << Server::Get().error;
  }

  static grpc::Status Analyze(const std::string& bytes, v1::AnalyzeResponse* response,
                              v1::AnalyzeOptions options = {}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::AnalyzeRequest request;
    request.mutable_image()->set_encoded(bytes);
    *request.mutable_options() = options;
    return Server::Get().stub().Analyze(&ctx, request, response);
  }
  static grpc::Status Analyze(const v1::AnalyzeRequest& request, v1::AnalyzeResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return Server::Get().stub().Analyze(&ctx, request, response);
  }
};

TEST_F(RealModelsTest, HealthIsNotServingBeforePreheatAndServingAfter) {
  EXPECT_EQ(Server::Get().health_before_preheat, HealthCheckResponse::NOT_SERVING);
  grpc::ClientContext ctx;
  HealthCheckRequest request;
  request.set_service("faceserve.v1.FaceService");
  HealthCheckResponse response;
  ASSERT_TRUE(Server::Get().health().Check(&ctx, request, &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

// face-api's six demo photos: the same faces as face-api finds (its own
// results from the reference runner), each at IoU >= 0.9, with the same
// gender and, where face-api is confident (>= 0.7), the same expression.
// Inputs are not bit-identical: face-api decodes JPEG with jpeg-js, we with
// libjpeg, and the few-unit pixel differences move landmarks by about a pixel.
// The age regression is sensitive to that (one demo face moves 12 years), so
// age is held to a mean absolute difference, not a per-face bound.
TEST_F(RealModelsTest, DemoPhotosFindTheFacesFaceApiFinds) {
  const fs::path dump = Env("FACEAPI_DUMP_DIR", "");
  ASSERT_FALSE(dump.empty()) << "FACEAPI_DUMP_DIR is not set";
  static const char* kExpressions[] = {"neutral", "happy",     "sad",      "angry",
                                       "fearful", "disgusted", "surprised"};
  double age_abs_diff_sum = 0;
  int faces = 0;
  for (int i = 1; i <= 6; ++i) {
    const std::string id = "sample" + std::to_string(i);
    SCOPED_TRACE(id);
    const nlohmann::json expected =
        nlohmann::json::parse(ReadFile(dump / id / "results.json"))["full"];
    v1::AnalyzeResponse response;
    grpc::Status s = Analyze(ReadFile(kDemo / (id + ".jpg")), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(response.faces_size(), static_cast<int>(expected.size()));
    for (const auto& face : expected) {
      const float x = face["box"]["x"], y = face["box"]["y"];
      const float w = face["box"]["width"], h = face["box"]["height"];
      float best = 0;
      const v1::Face* match = nullptr;
      for (const v1::Face& f : response.faces()) {
        const float iou = IoU(f.box(), x, y, x + w, y + h);
        if (iou > best) {
          best = iou;
          match = &f;
        }
      }
      EXPECT_GE(best, 0.9f) << "face-api box at " << x << "," << y;
      if (match == nullptr) continue;
      EXPECT_EQ(match->landmarks_5_size(), 5);
      EXPECT_EQ(match->landmarks_68_size(), 68);
      std::map<std::string, const v1::Prediction*> by_name;
      for (const v1::Prediction& p : match->predictions()) by_name[p.predictor()] = &p;
      ASSERT_TRUE(by_name.count("expression"));
      ASSERT_TRUE(by_name.count("age_gender"));
      const auto& gender = by_name["age_gender"]->outputs(1).classification();
      EXPECT_EQ(gender.label(), face["gender"].get<std::string>());
      const std::vector<float> probs = face["expressions"].get<std::vector<float>>();
      const int top = static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
      if (probs[top] >= 0.7f) {
        EXPECT_EQ(by_name["expression"]->outputs(0).classification().label(), kExpressions[top]);
      }
      const float age = by_name["age_gender"]->outputs(0).regression().values(0).value();
      EXPECT_NEAR(age, face["age"].get<float>(), 15.0f);
      age_abs_diff_sum += std::abs(age - face["age"].get<float>());
      ++faces;
    }
  }
  ASSERT_GT(faces, 0);
  std::cout << "demo faces: " << faces << ", age mean abs difference to face-api "
            << age_abs_diff_sum / faces << " years\n";
  EXPECT_LE(age_abs_diff_sum / faces, 3.0);
}

TEST_F(RealModelsTest, PhotosWithoutFacesHaveNoFaces) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(kShared / "bench")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("noface_", 0) != 0) continue;
    SCOPED_TRACE(name);
    v1::AnalyzeResponse response;
    grpc::Status s = Analyze(ReadFile(entry.path()), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.faces_size(), 0);
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

// PASCAL VOC photos with hand-drawn boxes (dlib's tight squares: IoU 0.4).
TEST_F(RealModelsTest, DetectPhotosFindTheAnnotatedFaces) {
  std::ifstream csv(kShared / "detect/boxes.csv");
  std::string line;
  std::getline(csv, line);  // header
  std::map<std::string, std::vector<std::array<float, 4>>> boxes;
  while (std::getline(csv, line)) {
    std::stringstream ss(line);
    std::string image, v;
    std::getline(ss, image, ',');
    std::array<float, 4> b{};
    for (float& x : b) {
      std::getline(ss, v, ',');
      x = std::stof(v);
    }
    boxes[image].push_back(b);
  }
  int total = 0, found = 0;
  for (const auto& [image, expected] : boxes) {
    v1::AnalyzeResponse response;
    v1::AnalyzeOptions options;
    options.add_predictors("landmarks");
    fs::path path = kShared / "detect" / image;
    if (!fs::exists(path)) path = kShared / "detect/images" / image;
    grpc::Status s = Analyze(ReadFile(path), &response, options);
    ASSERT_TRUE(s.ok()) << image << ": " << s.error_message();
    for (const auto& b : expected) {
      ++total;
      for (const v1::Face& f : response.faces()) {
        if (IoU(f.box(), b[0], b[1], b[2], b[3]) >= 0.4f) {
          ++found;
          break;
        }
      }
    }
  }
  ASSERT_GT(total, 40);
  const double recall = static_cast<double>(found) / total;
  std::cout << "detect/ recall at IoU 0.4: " << found << "/" << total << " = " << recall << "\n";
  // Measured 2026-11-23 with ssd_mobilenetv1 at min_score 0.5: see README.
  EXPECT_GE(recall, Floor("FACESERVE_MIN_DETECT_RECALL", kDefaultMinDetectRecall));
}

// Close-ups: the 94 tight 150x150 face crops of verify/ (dlib chips, face-api's
// bbt examples), where the face fills the image. The default detector must
// find each face whole (a box matching the crop's central two-thirds at IoU
// 0.4), not parts of it: RetinaFace alone finds 61 and reports 307
// part-faces; with its zoom-out pass 94 and 4 (README "Models").
TEST_F(RealModelsTest, TightFaceCropsAreFoundWhole) {
  std::vector<fs::path> crops;
  for (const auto& dir : fs::directory_iterator(kShared / "verify")) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path())) {
      const std::string name = f.path().filename().string();
      if (name.rfind("dlib_", 0) == 0 ||
          (dir.path().filename().string().rfind("bbt_", 0) == 0 && name.rfind("faceapi_", 0) == 0)) {
        crops.push_back(f.path());
      }
    }
  }
  ASSERT_EQ(crops.size(), 94u);
  int found = 0, parts = 0;
  for (const fs::path& crop : crops) {
    v1::AnalyzeOptions options;
    options.set_detect_only(true);
    v1::AnalyzeResponse response;
    grpc::Status s = Analyze(ReadFile(crop), &response, options);
    ASSERT_TRUE(s.ok()) << crop << ": " << s.error_message();
    bool whole = false;
    for (const v1::Face& f : response.faces()) {
      const bool match = IoU(f.box(), 25, 25, 125, 125) >= 0.4f;
      whole = whole || match;
      parts += match ? 0 : 1;
    }
    found += whole ? 1 : 0;
  }
  std::cout << "close-ups: " << found << " of " << crops.size() << " found whole, " << parts
            << " part-faces\n";
  EXPECT_GE(found, 93);
  EXPECT_LE(parts, 8);
}

TEST_F(RealModelsTest, HappyFaceIsHappy) {
  v1::AnalyzeResponse response;
  grpc::Status s =
      Analyze(ReadFile(kShared / "attributes/images/faceapi_happy.jpg"), &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GE(response.faces_size(), 1);
  for (const v1::Prediction& p : response.faces(0).predictions()) {
    if (p.predictor() == "expression") {
      EXPECT_EQ(p.outputs(0).classification().label(), "happy");
    }
  }
}

TEST_F(RealModelsTest, EmbeddingsAndAnnotatedImageOnRequest) {
  v1::AnalyzeOptions options;
  options.set_return_embeddings(true);
  options.set_return_annotated_image(true);
  v1::AnalyzeResponse response;
  grpc::Status s = Analyze(ReadFile(kDemo / "sample2.jpg"), &response, options);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_GE(response.faces_size(), 1);
  bool has_embedding = false;
  for (const v1::Prediction& p : response.faces(0).predictions()) {
    for (const v1::PredictorOutput& o : p.outputs()) {
      if (o.has_embedding()) {
        has_embedding = true;
        EXPECT_EQ(o.embedding().values_size(), 128);
        double norm = 0;
        for (float v : o.embedding().values()) norm += v * v;
        EXPECT_NEAR(norm, 1.0, 1e-4);
      }
    }
  }
  EXPECT_TRUE(has_embedding);
  EXPECT_GT(response.annotated_jpeg().size(), 1000u);
  EXPECT_EQ(static_cast<unsigned char>(response.annotated_jpeg()[0]), 0xFF);
}

// Head pose against faces labelled by eye (tests/integration/head_pose_labels.csv):
// faces turned to the image's right have yaw > 15 degrees, to the left < -15,
// the frontal one within 12 degrees of 0.
TEST_F(RealModelsTest, HeadPoseYawHasTheSignOfTheVisibleTurn) {
  std::ifstream csv(kSource / "tests/integration/head_pose_labels.csv");
  ASSERT_TRUE(csv.good());
  std::string line;
  int checked = 0;
  std::map<std::string, v1::AnalyzeResponse> responses;
  while (std::getline(csv, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("photo,", 0) == 0) continue;
    std::vector<std::string> f = absl::StrSplit(line, ',');
    ASSERT_EQ(f.size(), 4u) << line;
    const fs::path photo = f[0].rfind("faceapi/", 0) == 0 ? kDemo / f[0].substr(8)
                                                          : kShared / f[0].substr(7);
    if (!responses.count(f[0])) {
      ASSERT_TRUE(Analyze(ReadFile(photo), &responses[f[0]]).ok()) << photo;
    }
    const float x = std::stof(f[1]), y = std::stof(f[2]);
    const v1::Face* face = nullptr;
    for (const v1::Face& candidate : responses[f[0]].faces()) {
      const v1::Box& b = candidate.box();
      if (b.x1() <= x && x <= b.x2() && b.y1() <= y && y <= b.y2()) face = &candidate;
    }
    ASSERT_NE(face, nullptr) << "no face at " << x << "," << y << " in " << f[0];
    ASSERT_TRUE(face->has_head_pose()) << line;
    const float yaw = face->head_pose().yaw_deg();
    if (f[3] == "right") {
      EXPECT_GT(yaw, 15) << line;
    } else if (f[3] == "left") {
      EXPECT_LT(yaw, -15) << line;
    } else {
      ASSERT_EQ(f[3], "frontal") << line;
      EXPECT_LT(std::abs(yaw), 12) << line;
    }
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// The same photos mirrored: each turned face (|yaw| >= 20) turns the other
// way, and yaw, roll and pitch agree with the original's -yaw, -roll and
// pitch within a few degrees in the median (the landmark model is not exactly
// mirror-symmetric; the pose fit is, see tests/utilizer/head_pose_test.cc).
TEST_F(RealModelsTest, MirroredPhotosMirrorTheHeadPose) {
  std::vector<double> yaw_gap, pitch_gap, roll_gap;
  int turned = 0, flipped = 0;
  for (int i = 1; i <= 6; ++i) {
    const std::string jpeg = ReadFile(kDemo / absl::StrCat("sample", i, ".jpg"));
    cv::Mat image = cv::imdecode(cv::Mat(1, static_cast<int>(jpeg.size()), CV_8UC1,
                                         const_cast<char*>(jpeg.data())),
                                 cv::IMREAD_COLOR);
    ASSERT_FALSE(image.empty());
    cv::Mat mirrored;
    cv::flip(image, mirrored, 1);
    std::vector<uchar> encoded;
    ASSERT_TRUE(cv::imencode(".jpg", mirrored, encoded, {cv::IMWRITE_JPEG_QUALITY, 95}));
    v1::AnalyzeResponse a, b;
    ASSERT_TRUE(Analyze(jpeg, &a).ok());
    ASSERT_TRUE(Analyze(std::string(encoded.begin(), encoded.end()), &b).ok());
    const float width = static_cast<float>(a.image_width_px());
    for (const v1::Face& face : a.faces()) {
      const v1::Face* match = nullptr;
      float best = 0.5f;
      for (const v1::Face& m : b.faces()) {
        const float iou = IoU(face.box(), width - m.box().x2(), m.box().y1(),
                              width - m.box().x1(), m.box().y2());
        if (iou > best) best = iou, match = &m;
      }
      ASSERT_NE(match, nullptr) << "sample" << i << ": a face lost in the mirror";
      const v1::HeadPose& p = face.head_pose();
      const v1::HeadPose& q = match->head_pose();
      yaw_gap.push_back(std::abs(p.yaw_deg() + q.yaw_deg()));
      pitch_gap.push_back(std::abs(p.pitch_deg() - q.pitch_deg()));
      roll_gap.push_back(std::abs(p.roll_deg() + q.roll_deg()));
      if (std::abs(p.yaw_deg()) >= 20) {
        ++turned;
        if (p.yaw_deg() * q.yaw_deg() < 0) ++flipped;
      }
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 1e9 : v[v.size() / 2];
  };
  std::printf("mirrored head pose over %zu faces: median gaps yaw %.1f, pitch %.1f, roll %.1f "
              "degrees; %d of %d turned faces turn the other way\n",
              yaw_gap.size(), median(yaw_gap), median(pitch_gap), median(roll_gap), flipped,
              turned);
  ASSERT_GE(yaw_gap.size(), 20u);
  EXPECT_LE(median(yaw_gap), 5.0);
  EXPECT_LE(median(pitch_gap), 5.0);
  EXPECT_LE(median(roll_gap), 5.0);
  ASSERT_GE(turned, 10);
  EXPECT_GE(flipped, turned * 9 / 10);
}

// Bad input gets a precise status, and the server keeps serving.
TEST_F(RealModelsTest, BadInputIsRejectedWithAClearStatusAndServingGoesOn) {
  const std::string jpeg = ReadFile(kDemo / "sample1.jpg");
  std::string random(4096, '\0');
  std::mt19937 rng(7);
  for (char& c : random) c = static_cast<char>(rng());
  // A PNG header claiming 100000 x 100000 pixels.
  std::string huge_png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\x01\x86\xa0\0\x01\x86\xa0\x08\x02\0\0\0", 29);
  huge_png += std::string(4, '\0');
  struct Case {
    std::string name;
    v1::AnalyzeRequest request;
    grpc::StatusCode code;
  };
  std::vector<Case> cases;
  auto encoded = [](const std::string& bytes) {
    v1::AnalyzeRequest r;
    r.mutable_image()->set_encoded(bytes);
    return r;
  };
  cases.push_back({"empty bytes", encoded(""), grpc::INVALID_ARGUMENT});
  cases.push_back({"truncated JPEG", encoded(jpeg.substr(0, jpeg.size() / 3)),
                   grpc::INVALID_ARGUMENT});
  cases.push_back({"random bytes", encoded(random), grpc::INVALID_ARGUMENT});
  cases.push_back({"image over the pixel limit", encoded(huge_png), grpc::RESOURCE_EXHAUSTED});
  {
    v1::AnalyzeRequest r;
    r.mutable_image()->mutable_raw()->set_channel_order(v1::CHANNEL_ORDER_RGB);
    cases.push_back({"0x0 raw image", r, grpc::INVALID_ARGUMENT});
  }
  {
    v1::AnalyzeRequest r;
    auto* raw = r.mutable_image()->mutable_raw();
    raw->set_width_px(100);
    raw->set_height_px(100);
    raw->set_channel_order(v1::CHANNEL_ORDER_RGB);
    raw->set_pixels(std::string(100 * 100 * 3 - 1, '\x80'));
    cases.push_back({"raw bytes short of width*height*channels", r, grpc::INVALID_ARGUMENT});
  }
  {
    v1::AnalyzeRequest r = encoded(jpeg);
    r.mutable_options()->add_predictors("no_such_predictor");
    cases.push_back({"unknown predictor", r, grpc::INVALID_ARGUMENT});
  }
  {
    v1::AnalyzeRequest r;
    cases.push_back({"image not set", r, grpc::INVALID_ARGUMENT});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::AnalyzeResponse response;
    grpc::Status s = Analyze(c.request, &response);
    EXPECT_EQ(s.error_code(), c.code) << s.error_message();
    EXPECT_FALSE(s.error_message().empty());
    std::cout << c.name << " -> " << s.error_code() << ": " << s.error_message() << "\n";
    // The next good request is served.
    v1::AnalyzeResponse good;
    v1::AnalyzeOptions options;
    options.add_predictors("landmarks");
    ASSERT_TRUE(Analyze(jpeg, &good, options).ok());
    EXPECT_GE(good.faces_size(), 1);
  }
}

// Raw BGR pixels (decoded by the client) give the same faces as the file.
TEST_F(RealModelsTest, RawPixelsGiveTheSameFacesAsTheEncodedImage) {
  const std::string jpeg = ReadFile(kDemo / "sample3.jpg");
  v1::AnalyzeOptions options;
  options.add_predictors("landmarks");
  v1::AnalyzeResponse from_file;
  ASSERT_TRUE(Analyze(jpeg, &from_file, options).ok());
  ASSERT_GE(from_file.faces_size(), 1);

  const cv::Mat bgr = cv::imdecode(std::vector<uchar>(jpeg.begin(), jpeg.end()), cv::IMREAD_COLOR);
  ASSERT_FALSE(bgr.empty());
  v1::AnalyzeRequest request;
  auto* raw = request.mutable_image()->mutable_raw();
  raw->set_width_px(bgr.cols);
  raw->set_height_px(bgr.rows);
  raw->set_stride_bytes(static_cast<int>(bgr.step[0]));
  raw->set_channel_order(v1::CHANNEL_ORDER_BGR);
  raw->set_pixels(std::string(reinterpret_cast<const char*>(bgr.data), bgr.step[0] * bgr.rows));
  *request.mutable_options() = options;
  v1::AnalyzeResponse from_raw;
  grpc::Status s = Analyze(request, &from_raw);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(from_raw.faces_size(), from_file.faces_size());
  for (int i = 0; i < from_raw.faces_size(); ++i) {
    const v1::Box& b = from_file.faces(i).box();
    EXPECT_GE(IoU(from_raw.faces(i).box(), b.x1(), b.y1(), b.x2(), b.y2()), 0.99f);
  }
}

// Verification on ../shared/data/faces/verify/pairs.csv through Verify with
// the server's threshold: accuracy stays at or above the figure measured
// when the threshold was chosen (README).
TEST_F(RealModelsTest, VerifyAccuracyOnPairsDoesNotRegress) {
  const fs::path root = kShared / "verify";
  std::ifstream csv(root / "pairs.csv");
  std::string line;
  std::getline(csv, line);
  // Embed each image once (largest face; a face crop when none is found).
  std::map<std::string, std::vector<float>> embeddings;
  std::vector<std::tuple<std::string, std::string, bool>> pairs;
  while (std::getline(csv, line)) {
    std::stringstream ss(line);
    std::string a, b, same;
    std::getline(ss, a, ',');
    std::getline(ss, b, ',');
    std::getline(ss, same, ',');
    pairs.emplace_back(a, b, same == "1");
    embeddings[a];
    embeddings[b];
  }
  // The dlib chips (dlib_*.jpg, 150x150, aligned) are face crops: embedded
  // whole, as a client that knows it sends crops does (facectl eval-verify
  // --crops '*/dlib_*'); a detector may find a spurious part-face in them.
  int crops = 0;
  for (auto& [image, embedding] : embeddings) {
    const bool chip = fs::path(image).filename().string().rfind("dlib_", 0) == 0;
    std::vector<v1::FaceSelection> selections{v1::FACE_SELECTION_WHOLE_IMAGE};
    if (!chip) selections.insert(selections.begin(), v1::FACE_SELECTION_LARGEST);
    for (v1::FaceSelection selection : selections) {
      grpc::ClientContext ctx;
      v1::EmbedRequest request;
      request.mutable_image()->set_encoded(ReadFile(root / image));
      request.set_selection(selection);
      v1::EmbedResponse response;
      grpc::Status s = Server::Get().stub().Embed(&ctx, request, &response);
      ASSERT_TRUE(s.ok()) << image << ": " << s.error_message();
      if (response.faces_size() == 0) continue;
      embedding.assign(response.faces(0).embedding().values().begin(),
                       response.faces(0).embedding().values().end());
      if (selection == v1::FACE_SELECTION_WHOLE_IMAGE) ++crops;
      break;
    }
    ASSERT_FALSE(embedding.empty()) << image;
    ASSERT_EQ(embedding.size(), embeddings.begin()->second.size()) << image;
  }
  // Decisions come from Verify itself (embedding inputs), so the served
  // threshold is what is measured.
  int correct = 0;
  for (const auto& [a, b, same] : pairs) {
    grpc::ClientContext ctx;
    v1::VerifyRequest request;
    for (auto [side, image] : {std::pair{request.mutable_a(), a}, std::pair{request.mutable_b(), b}}) {
      auto* values = side->mutable_embedding()->mutable_values();
      values->Add(embeddings[image].begin(), embeddings[image].end());
    }
    v1::VerifyResponse response;
    grpc::Status s = Server::Get().stub().Verify(&ctx, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    if (response.match() == same) ++correct;
  }
  const double accuracy = static_cast<double>(correct) / pairs.size();
  std::cout << "verify pairs: " << pairs.size() << ", images " << embeddings.size()
            << " (embedded as crops: " << crops << "), accuracy " << accuracy << "\n";
  EXPECT_GE(accuracy, Floor("FACESERVE_MIN_VERIFY_ACCURACY", kDefaultMinVerifyAccuracy));
}

// The 150x150 dlib chips are face crops: Verify with WHOLE_IMAGE compares
// them as they are, with the default embedding predictor.
// dlib's 150x150 chips of the "johns" (face crops, embedded whole): two chips
// of one man match, a chip of another man does not.
TEST_F(RealModelsTest, FaceCropsVerifyWithWholeImageSelection) {
  auto chips_of = [](const std::string& person) {
    std::vector<fs::path> chips;
    for (const auto& f : fs::directory_iterator(kShared / "verify" / person)) {
      if (f.path().filename().string().rfind("dlib_", 0) == 0) chips.push_back(f.path());
    }
    std::sort(chips.begin(), chips.end());
    return chips;
  };
  const std::vector<fs::path> salley = chips_of("john_salley");
  const std::vector<fs::path> savage = chips_of("john_savage");
  ASSERT_GE(salley.size(), 2u);
  ASSERT_GE(savage.size(), 1u);
  auto verify = [](const fs::path& a, const fs::path& b) {
    grpc::ClientContext ctx;
    v1::VerifyRequest request;
    request.mutable_a()->mutable_image()->set_encoded(ReadFile(a));
    request.mutable_a()->set_selection(v1::FACE_SELECTION_WHOLE_IMAGE);
    request.mutable_b()->mutable_image()->set_encoded(ReadFile(b));
    request.mutable_b()->set_selection(v1::FACE_SELECTION_WHOLE_IMAGE);
    v1::VerifyResponse response;
    grpc::Status s = Server::Get().stub().Verify(&ctx, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.model(), DefaultEmbeddingModel());
    EXPECT_GT(response.threshold(), 0.0f);
    return response;
  };
  const v1::VerifyResponse same = verify(salley[0], salley[1]);
  EXPECT_TRUE(same.match()) << "similarity " << same.similarity();
  const v1::VerifyResponse other = verify(salley[0], savage[0]);
  EXPECT_FALSE(other.match()) << "similarity " << other.similarity();
  EXPECT_GT(same.similarity(), other.similarity());
}

// Sum and count of faceserve_batch_size per model label, from a real scrape of
// the server's /metrics endpoint.
std::map<std::string, std::pair<double, double>> BatchSizeSumAndCount(const std::string& text) {
  std::map<std::string, std::pair<double, double>> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    for (const char* suffix : {"_sum{", "_count{"}) {
      const std::string prefix = std::string("faceserve_batch_size") + suffix;
      if (line.rfind(prefix, 0) != 0) continue;
      const size_t m = line.find("model=\"");
      if (m == std::string::npos) continue;
      const size_t end = line.find('"', m + 7);
      const std::string model = line.substr(m + 7, end - m - 7);
      const double value = std::stod(line.substr(line.rfind(' ') + 1));
      (std::string(suffix) == "_sum{" ? out[model].first : out[model].second) = value;
    }
  }
  return out;
}

// Many concurrent clients: batches larger than one form at the detector and
// at the predictors (faces of different requests share them, per the
// server's own counters), and every response equals the sequential answer.
TEST_F(RealModelsTest, ConcurrentClientsShareBatchesAndGetTheSameAnswers) {
  std::vector<std::string> images;
  std::vector<v1::AnalyzeResponse> sequential(6);
  for (int i = 1; i <= 6; ++i) {
    images.push_back(ReadFile(kDemo / ("sample" + std::to_string(i) + ".jpg")));
    grpc::Status s = Analyze(images.back(), &sequential[i - 1]);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const int port = Server::Get().metrics_port();
  ASSERT_GT(port, 0);
  auto before = testing::HttpGet("127.0.0.1", port, "/metrics");
  ASSERT_TRUE(before.ok()) << before.status();

  constexpr int kClients = 16, kCallsPerClient = 3;
  std::vector<std::thread> clients;
  std::mutex mu;
  std::vector<std::string> failures;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; k < kCallsPerClient; ++k) {
        const int image = (c + k) % 6;
        v1::AnalyzeResponse response;
        grpc::Status s = Analyze(images[image], &response);
        std::string problem;
        if (!s.ok()) {
          problem = s.error_message();
        } else if (response.faces_size() != sequential[image].faces_size()) {
          problem = absl::StrCat(response.faces_size(), " faces, sequentially ",
                                 sequential[image].faces_size());
        } else {
          for (int f = 0; f < response.faces_size(); ++f) {
            const v1::Box& b = sequential[image].faces(f).box();
            const float iou = IoU(response.faces(f).box(), b.x1(), b.y1(), b.x2(), b.y2());
            const auto& got = response.faces(f).predictions();
            const auto& want = sequential[image].faces(f).predictions();
            if (iou < 0.99f) problem = absl::StrCat("face ", f, " IoU ", iou);
            for (int p = 0; p < got.size() && problem.empty(); ++p) {
              if (got[p].predictor() == "age_gender" &&
                  std::abs(got[p].outputs(0).regression().values(0).value() -
                           want[p].outputs(0).regression().values(0).value()) > 0.5f) {
                problem = absl::StrCat("face ", f, " age differs from the sequential run");
              }
            }
          }
        }
        if (!problem.empty()) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(absl::StrCat("sample", image + 1, ": ", problem));
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  EXPECT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");

  auto after = testing::HttpGet("127.0.0.1", port, "/metrics");
  ASSERT_TRUE(after.ok()) << after.status();
  const auto b0 = BatchSizeSumAndCount(before->body);
  const auto b1 = BatchSizeSumAndCount(after->body);
  ASSERT_TRUE(b1.count(Server::Get().config().detector.name)) << after->body;
  for (const auto& [model, sum_count] : b1) {
    const double items = sum_count.first - (b0.count(model) ? b0.at(model).first : 0);
    const double batches = sum_count.second - (b0.count(model) ? b0.at(model).second : 0);
    std::cout << model << ": " << items << " items in " << batches << " batches, mean "
              << items / batches << "\n";
    // Batches larger than one formed: fewer batches than items.
    EXPECT_LT(batches, items) << model;
  }
  EXPECT_GE(b1.size(), 1 + Server::Get().config().predictors.size());
}

}  // namespace
}  // namespace faceserve
