// The face-size sweep on the real models through a real server
// (tests/testing/real_server.h): portraits of three people from
// ../shared/data/faces, their face made 3 % to 90 % of the longer side of
// images 640 to 4000 px long, landscape and portrait, over photos without a
// face (client/face_size_sweep.h). Each image must give exactly one face at
// IoU >= 0.6 with the face's reference box (the same configuration's answer
// at 15 %), its five landmarks within 5 % of the face's width (the table's
// "found"; what the test holds is said at each test).
//
// ctest runs it once per configuration (tests/integration/CMakeLists.txt):
// FACESERVE_SWEEP_FOUND names the range of face shares that must pass
// ("0.03-0.90" for the default; face-api's SSD "0.10-0.40"); the other rows
// are printed, not held. FACESERVE_SWEEP_PREDICTORS names the predictors to
// run where the detector gives no five landmarks (face-api's SSD).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/face_size_sweep_runner.h"
#include "core/reader/image_reader.h"
#include "tests/testing/real_server.h"

namespace faceserve {
namespace {

namespace fs = std::filesystem;
using client::SweepOutcome;
using client::SweepRow;
using client::SweepStep;

const fs::path kFaces = fs::path(FACESERVE_SOURCE_DIR) / ".." / "shared" / "data" / "faces";

testing::RealServer& Server() {
  static auto* server = new testing::RealServer();
  return *server;
}

cv::Mat ReadRgb(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  ImageInput input;
  input.encoded = ss.str();
  absl::StatusOr<cv::Mat> rgb = ReadImage(input, ReaderLimits{});
  return rgb.ok() ? *rgb : cv::Mat();
}

// Frontal portraits of three people, face 300-600 px wide in the original.
std::vector<client::SweepPortrait> Portraits() {
  std::vector<client::SweepPortrait> out;
  for (const char* p : {"verify/shea_whigham/facenet_1.jpg", "verify/angelina_jolie/facenet_1.jpg",
                        "verify/paul_rudd/facenet_1.jpg"}) {
    out.push_back({fs::path(p).parent_path().filename().string(), ReadRgb(kFaces / p)});
  }
  return out;
}

// Photos without a face (the server finds none in them: real_models_test).
std::vector<cv::Mat> Backgrounds() {
  return {ReadRgb(kFaces / "bench/noface_human_background.jpg"),
          ReadRgb(kFaces / "bench/noface_dlib_horses.jpg"),
          ReadRgb(kFaces / "bench/noface_dlib_giraffe.jpg")};
}

client::SweepOptions Options() {
  client::SweepOptions options;
  const std::string predictors = testing::EnvOr("FACESERVE_SWEEP_PREDICTORS", "");
  if (!predictors.empty()) options.predictors = absl::StrSplit(predictors, ',');
  options.concurrency = 4;
  return options;
}

client::ConnectionOptions Connection() {
  client::ConnectionOptions c;
  c.server = Server().address();
  c.timeout_ms = 120000;
  return c;
}

class FaceSizeSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Server().error.empty()) << Server().error;
    portraits_ = Portraits();
    backgrounds_ = Backgrounds();
    for (const auto& p : portraits_) ASSERT_FALSE(p.rgb.empty()) << p.name;
    for (const cv::Mat& b : backgrounds_) ASSERT_FALSE(b.empty());
  }

  std::vector<client::SweepPortrait> portraits_;
  std::vector<cv::Mat> backgrounds_;
};

// The whole sweep. Inside FACESERVE_SWEEP_FOUND's range no face is lost and
// no second box lies on the face (a part-face, a duplicate): what the
// zoom-out merge guarantees. The landmarks are held to 10 % of the face's
// width from 8 % up: twice the 5 % of a "found", since RetinaFace
// MobileNet-0.25's own landmarks scatter by up to ~7 % of the face's width
// between image sizes (README "Models"); the table counts the 5 % misses as
// moved. Faces elsewhere in the image (a detector's false positive on hair)
// are counted as extra and printed, not held here.
TEST_F(FaceSizeSweepTest, NoFaceIsLostOrSplitAtAnySizeInRange) {
  const std::vector<std::string> range =
      absl::StrSplit(testing::EnvOr("FACESERVE_SWEEP_FOUND", "0.03-0.90"), '-');
  ASSERT_EQ(range.size(), 2u);
  const float lo = std::stof(range[0]) - 1e-4f, hi = std::stof(range[1]) + 1e-4f;
  auto rows = client::RunFaceSizeSweep(Server().stub(), Connection(), portraits_, backgrounds_,
                                       client::StandardSweep(), Options());
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::cout << Server().config().detector.name << " (face shares " << range[0] << "-" << range[1]
            << " held):\n"
            << client::SweepTable(*rows);
  int held = 0;
  for (const SweepRow& r : *rows) {
    if (r.step.face_share < lo || r.step.face_share > hi) continue;
    ++held;
    const std::string where = absl::StrCat(
        r.portrait, " face ", r.step.face_share, " of ", r.step.long_side, " px ",
        r.step.portrait ? "portrait" : "landscape", " (", r.width, "x", r.height, "): ",
        client::SweepOutcomeName(r.judgement.outcome), ", ", r.judgement.faces, " faces, IoU ",
        r.judgement.best_iou, ", landmark error ", r.judgement.landmark_error);
    EXPECT_NE(r.judgement.outcome, SweepOutcome::kLost) << where;
    EXPECT_EQ(r.judgement.others_on_face, 0) << where;
    if (r.step.face_share >= 0.08f) {
      EXPECT_LE(r.judgement.landmark_error, 0.10f) << where;
    }
  }
  EXPECT_GT(held, 100);
}

// The regression of the zoom-out merge: a face measured on either side of
// the trigger (25 % of the longer side) in the two passes was dropped by
// both. 24-27 % of a 1280 and a 1536 px image: exactly one face, each time.
// Two of the three portraits: on the third, RetinaFace also reports a "face"
// in the curls of the hair at some of these sizes (scores 0.74-0.96 at the
// served threshold), a detector false positive the sweep counts as extra.
TEST_F(FaceSizeSweepTest, FacesAroundTheZoomOutTriggerGiveExactlyOneFace) {
  const std::vector<client::SweepPortrait> portraits{portraits_[0], portraits_[2]};
  std::vector<SweepStep> steps;
  for (float share : {0.24f, 0.25f, 0.26f, 0.27f}) {
    for (int side : {1280, 1536}) {
      for (bool portrait : {false, true}) steps.push_back(SweepStep{share, side, portrait});
    }
  }
  auto rows = client::RunFaceSizeSweep(Server().stub(), Connection(), portraits, backgrounds_,
                                       steps, Options());
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), steps.size() * portraits.size());
  for (const SweepRow& r : *rows) {
    const std::string where = absl::StrCat(r.portrait, " face ", r.step.face_share, " of ",
                                           r.step.long_side, " px ",
                                           r.step.portrait ? "portrait" : "landscape");
    EXPECT_EQ(r.judgement.faces, 1) << where;
    EXPECT_NE(r.judgement.outcome, SweepOutcome::kLost) << where;
  }
}

}  // namespace
}  // namespace faceserve
