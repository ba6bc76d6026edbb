// The face-size sweep: one portrait made into many test images in which its
// face is a given share of the image's longer side, at several image sizes
// and in both orientations, over a photo without a face; and the judgement
// of a detector's answer on each against the face's reference box and five
// landmarks, carried through the same transform. A detector that finds a
// face at one size and loses it at the next (a zoom-out pass, an input size,
// a score threshold) shows here before a user meets it.
//
// Pure image work (OpenCV), no gRPC: client/face_size_sweep_runner.h sends
// the images to a server. facectl eval-face-sizes and the integration tests
// use both.
#ifndef FACESERVE_CLIENT_FACE_SIZE_SWEEP_H_
#define FACESERVE_CLIENT_FACE_SIZE_SWEEP_H_

#include <array>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "client/detection_metrics.h"

namespace faceserve::client {

// A face's box and its five landmarks (eyes, nose tip, mouth corners), in
// pixels with edges at integers: pixel (i, j) covers [i, i+1) x [j, j+1).
struct FaceGeometry {
  BoxXyxy box{};
  std::array<std::array<float, 2>, 5> landmarks{};
};

// One test image: the face `face_share` of the longer side wide (its
// reference box's width), the longer side `long_side` pixels, portrait
// (taller than wide) or landscape.
struct SweepStep {
  float face_share = 0.15f;
  int long_side = 1280;
  bool portrait = false;
};

// The sweep: 3, 5, 8, 10, 15, 20 %, every 1 % from 22 to 30 %, 35 to
// 50 % in 5 % steps, 60, 70, 80, 90 %.
std::vector<float> StandardFaceShares();
// 640, 1280, 1536, 1920 and 4000 px.
std::vector<int> StandardLongSides();
// Every share at every long side, landscape and portrait.
std::vector<SweepStep> StandardSweep();

// A made image and where the portrait's face lies in it:
// image = scale * portrait + offset, per axis, in edge coordinates.
struct SweepImage {
  cv::Mat rgb;
  FaceGeometry face;  // the reference carried into the image (not clipped)
  float scale_x = 1, scale_y = 1, offset_x = 0, offset_y = 0;
};

// Makes the image of `step`: the canvas is long_side x 3/4 of it (turned for
// portrait), its shorter side grown (up to long_side) where the scaled face
// box and a margin would not fit. The background photo is scaled to cover
// the canvas and centred; the portrait, scaled so that face.box is
// face_share * long_side wide, is laid over it with the face at the centre
// (the background shows wherever the portrait does not reach). Shrinking
// averages pixels (INTER_AREA), enlarging interpolates (bilinear).
SweepImage MakeSweepImage(const cv::Mat& portrait_rgb, const FaceGeometry& face,
                          const cv::Mat& background_rgb, const SweepStep& step);

// A face found in a made image, mapped back into the portrait.
FaceGeometry MapToPortrait(const FaceGeometry& in_image, const SweepImage& image);

// The box clipped to a width x height image.
BoxXyxy ClipBox(const BoxXyxy& box, int width, int height);

// A reported face is the expected face when its box matches the expected box
// (both clipped to the image) at IoU >= 0.6; it is where expected when each
// of its five landmarks also lies within 5 % of the expected box's width of
// the expected landmark.
inline constexpr float kSweepMinIoU = 0.6f;
inline constexpr float kSweepMaxLandmarkError = 0.05f;

enum class SweepOutcome {
  kFound,  // exactly one face: the expected face, its landmarks where expected
  kMoved,  // exactly one face: the expected face, a landmark off by more than 5 %
  kExtra,  // the expected face and others beside it
  kLost,   // no reported face is the expected face
};
// "found", "moved", "extra", "lost"
const char* SweepOutcomeName(SweepOutcome outcome);

struct SweepJudgement {
  SweepOutcome outcome = SweepOutcome::kLost;
  int faces = 0;             // faces reported
  int matched = -1;          // index of the expected face among them; -1 when lost
  // Other faces lying at least half inside the expected face's box: parts
  // of it (an eye, half a face) or a second box for it, never a neighbour.
  int others_on_face = 0;
  float best_iou = 0;        // of the reported face closest to the expected box
  float landmark_error = 0;  // its largest landmark distance / expected box width
  std::array<float, 5> landmark_errors{};  // each landmark's distance / expected box width
};

SweepJudgement JudgeSweepImage(const FaceGeometry& expected, int width, int height,
                               const std::vector<FaceGeometry>& reported);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_FACE_SIZE_SWEEP_H_
