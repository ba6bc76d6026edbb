// The face-size sweep's image making and judging (client/face_size_sweep.h)
// on synthetic images: where the face lands, the canvas, the inverse
// mapping, and each outcome of the judgement.
#include "client/face_size_sweep.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace faceserve::client {
namespace {

// A 400x300 grey "portrait" whose "face" is a red 100x120 block at
// (150, 80); landmarks at fixed spots inside it.
struct Synthetic {
  cv::Mat portrait = cv::Mat(300, 400, CV_8UC3, cv::Scalar(128, 128, 128));
  cv::Mat background = cv::Mat(50, 80, CV_8UC3, cv::Scalar(0, 0, 255));
  FaceGeometry face;
  Synthetic() {
    cv::rectangle(portrait, cv::Rect(150, 80, 100, 120), cv::Scalar(255, 0, 0), cv::FILLED);
    face.box = {150, 80, 250, 200};
    face.landmarks = {{{175, 120}, {225, 120}, {200, 150}, {180, 175}, {220, 175}}};
  }
};

TEST(FaceSizeSweepTest, TheStandardSweepHasEveryShareSideAndOrientation) {
  EXPECT_EQ(StandardFaceShares().size(), 23u);
  EXPECT_FLOAT_EQ(StandardFaceShares().front(), 0.03f);
  EXPECT_FLOAT_EQ(StandardFaceShares().back(), 0.90f);
  EXPECT_EQ(StandardSweep().size(), 23u * 5u * 2u);
}

TEST(FaceSizeSweepTest, TheFaceLandsAtItsShareInTheCentre) {
  const Synthetic s;
  for (bool portrait : {false, true}) {
    for (float share : {0.05f, 0.25f, 0.5f}) {
      SCOPED_TRACE(share);
      const SweepImage image = MakeSweepImage(s.portrait, s.face, s.background,
                                              SweepStep{share, 1000, portrait});
      EXPECT_EQ(std::max(image.rgb.cols, image.rgb.rows), 1000);
      EXPECT_EQ(portrait, image.rgb.rows > image.rgb.cols);
      const float w = image.face.box[2] - image.face.box[0];
      EXPECT_NEAR(w, share * 1000, 1.0f);
      EXPECT_NEAR((image.face.box[0] + image.face.box[2]) / 2, image.rgb.cols / 2.0f, 1.0f);
      // The face block's pixels are where the box says (2 px in from its edges).
      const cv::Vec3b inside = image.rgb.at<cv::Vec3b>(
          static_cast<int>(image.face.box[1]) + 2, static_cast<int>(image.face.box[0]) + 2);
      EXPECT_GT(inside[0], 200);
      EXPECT_LT(inside[2], 60);
      // Outside the portrait, the background shows (the top-left corner at 5 %).
      if (share == 0.05f) {
        EXPECT_EQ(image.rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
      }
    }
  }
}

TEST(FaceSizeSweepTest, TheShorterSideGrowsForATallFace) {
  const Synthetic s;
  // 120 px tall at 0.8 * 1000 / 100 = 8x: 960 px, more than 3/4 of 1000.
  const SweepImage image =
      MakeSweepImage(s.portrait, s.face, s.background, SweepStep{0.8f, 1000, false});
  EXPECT_EQ(image.rgb.cols, 1000);
  EXPECT_EQ(image.rgb.rows, 1000);  // 960 * 1.1 capped at the longer side
  const SweepImage small =
      MakeSweepImage(s.portrait, s.face, s.background, SweepStep{0.1f, 1000, false});
  EXPECT_EQ(small.rgb.rows, 750);
}

TEST(FaceSizeSweepTest, MapToPortraitInvertsTheTransform) {
  const Synthetic s;
  for (float share : {0.03f, 0.9f}) {
    const SweepImage image =
        MakeSweepImage(s.portrait, s.face, s.background, SweepStep{share, 1536, true});
    const FaceGeometry back = MapToPortrait(image.face, image);
    for (int k = 0; k < 4; ++k) EXPECT_NEAR(back.box[k], s.face.box[k], 1e-3);
    EXPECT_NEAR(back.landmarks[3][1], 175, 1e-3);
  }
}

FaceGeometry Moved(const FaceGeometry& f, float dx) {
  FaceGeometry g = f;
  g.box[0] += dx;
  g.box[2] += dx;
  for (auto& p : g.landmarks) p[0] += dx;
  return g;
}

TEST(FaceSizeSweepTest, JudgesFoundMovedExtraAndLost) {
  const Synthetic s;
  const FaceGeometry& want = s.face;  // 100 px wide: 5 px of landmark tolerance
  EXPECT_EQ(JudgeSweepImage(want, 400, 300, {Moved(want, 4)}).outcome, SweepOutcome::kFound);
  FaceGeometry off = want;
  off.landmarks[2][1] += 6;  // the nose 6 % of the width off
  const SweepJudgement moved = JudgeSweepImage(want, 400, 300, {off});
  EXPECT_EQ(moved.outcome, SweepOutcome::kMoved);
  EXPECT_NEAR(moved.landmark_error, 0.06f, 1e-4);
  EXPECT_EQ(JudgeSweepImage(want, 400, 300, {}).outcome, SweepOutcome::kLost);
  EXPECT_EQ(JudgeSweepImage(want, 400, 300, {Moved(want, 60)}).outcome, SweepOutcome::kLost);
  // A second face far away: extra, not on the face.
  FaceGeometry far;
  far.box = {0, 0, 30, 30};
  const SweepJudgement extra = JudgeSweepImage(want, 400, 300, {far, want});
  EXPECT_EQ(extra.outcome, SweepOutcome::kExtra);
  EXPECT_EQ(extra.matched, 1);
  EXPECT_EQ(extra.others_on_face, 0);
  // A part-face (an eye) inside the face: on the face.
  FaceGeometry eye;
  eye.box = {165, 105, 190, 130};
  EXPECT_EQ(JudgeSweepImage(want, 400, 300, {want, eye}).others_on_face, 1);
}

TEST(FaceSizeSweepTest, BoxesCutByTheBorderAreComparedInsideTheImage) {
  FaceGeometry want;
  want.box = {-50, 10, 50, 110};  // half outside
  FaceGeometry got;
  got.box = {0, 10, 50, 110};  // what a detector reports: clipped
  const SweepJudgement j = JudgeSweepImage(want, 200, 200, {got});
  EXPECT_FLOAT_EQ(j.best_iou, 1.0f);
}

}  // namespace
}  // namespace faceserve::client
