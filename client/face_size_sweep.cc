#include "client/face_size_sweep.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <opencv2/imgproc.hpp>

namespace faceserve::client {
namespace {

// The canvas's shorter side when nothing needs more: 4:3.
constexpr float kShortToLong = 0.75f;
// Room above and below the face box, as a share of its height, when the
// canvas's shorter side has to grow for it.
constexpr float kFaceMargin = 0.05f;

// The background scaled to cover width x height, centred, cropped.
cv::Mat CoverCanvas(const cv::Mat& background, int width, int height) {
  const double s = std::max(static_cast<double>(width) / background.cols,
                            static_cast<double>(height) / background.rows);
  cv::Mat scaled;
  const int w = std::max(width, static_cast<int>(std::ceil(background.cols * s)));
  const int h = std::max(height, static_cast<int>(std::ceil(background.rows * s)));
  cv::resize(background, scaled, cv::Size(w, h), 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return scaled(cv::Rect((w - width) / 2, (h - height) / 2, width, height)).clone();
}

FaceGeometry Transform(const FaceGeometry& f, float sx, float sy, float ox, float oy) {
  FaceGeometry out;
  out.box = {f.box[0] * sx + ox, f.box[1] * sy + oy, f.box[2] * sx + ox, f.box[3] * sy + oy};
  for (size_t i = 0; i < f.landmarks.size(); ++i) {
    out.landmarks[i] = {f.landmarks[i][0] * sx + ox, f.landmarks[i][1] * sy + oy};
  }
  return out;
}

}  // namespace

std::vector<float> StandardFaceShares() {
  std::vector<float> shares{0.03f, 0.05f, 0.08f, 0.10f, 0.15f, 0.20f};
  for (int p = 22; p <= 30; ++p) shares.push_back(p / 100.0f);
  for (int p = 35; p <= 50; p += 5) shares.push_back(p / 100.0f);
  for (int p : {60, 70, 80, 90}) shares.push_back(p / 100.0f);
  return shares;
}

std::vector<int> StandardLongSides() { return {640, 1280, 1536, 1920, 4000}; }

std::vector<SweepStep> StandardSweep() {
  std::vector<SweepStep> steps;
  for (float share : StandardFaceShares()) {
    for (int long_side : StandardLongSides()) {
      for (bool portrait : {false, true}) steps.push_back(SweepStep{share, long_side, portrait});
    }
  }
  return steps;
}

SweepImage MakeSweepImage(const cv::Mat& portrait_rgb, const FaceGeometry& face,
                          const cv::Mat& background_rgb, const SweepStep& step) {
  const float face_w = face.box[2] - face.box[0];
  const float face_h = face.box[3] - face.box[1];
  const float s = step.face_share * static_cast<float>(step.long_side) / face_w;
  const int long_side = step.long_side;
  const float needed = face_h * s * (1 + 2 * kFaceMargin);
  const int short_side = std::min(
      long_side, std::max(static_cast<int>(std::lround(long_side * kShortToLong)),
                          static_cast<int>(std::ceil(needed))));
  const int width = step.portrait ? short_side : long_side;
  const int height = step.portrait ? long_side : short_side;

  SweepImage out;
  out.rgb = CoverCanvas(background_rgb, width, height);
  // Shrinking: average the portrait down first (a bilinear warp would alias),
  // then place it with a translation alone. Enlarging: one bilinear warp.
  cv::Mat source = portrait_rgb;
  float warp_scale = s;
  out.scale_x = out.scale_y = s;
  if (s < 1) {
    const int w = std::max(1, static_cast<int>(std::lround(portrait_rgb.cols * s)));
    const int h = std::max(1, static_cast<int>(std::lround(portrait_rgb.rows * s)));
    cv::resize(portrait_rgb, source, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    out.scale_x = static_cast<float>(w) / portrait_rgb.cols;
    out.scale_y = static_cast<float>(h) / portrait_rgb.rows;
    warp_scale = 1;
  }
  const float cx = (face.box[0] + face.box[2]) / 2, cy = (face.box[1] + face.box[3]) / 2;
  out.offset_x = width / 2.0f - cx * out.scale_x;
  out.offset_y = height / 2.0f - cy * out.scale_y;
  // Edge coordinates u' = k u + o are pixel-centre coordinates
  // (u' - 0.5) = k (u - 0.5) + (o + 0.5 k - 0.5), which warpAffine takes.
  const double k = warp_scale;
  const double tx = out.offset_x + 0.5 * k - 0.5, ty = out.offset_y + 0.5 * k - 0.5;
  const cv::Mat m = (cv::Mat_<double>(2, 3) << k, 0, tx, 0, k, ty);
  cv::warpAffine(source, out.rgb, m, out.rgb.size(), cv::INTER_LINEAR, cv::BORDER_TRANSPARENT);
  out.face = Transform(face, out.scale_x, out.scale_y, out.offset_x, out.offset_y);
  return out;
}

FaceGeometry MapToPortrait(const FaceGeometry& in_image, const SweepImage& image) {
  return Transform(in_image, 1 / image.scale_x, 1 / image.scale_y,
                   -image.offset_x / image.scale_x, -image.offset_y / image.scale_y);
}

BoxXyxy ClipBox(const BoxXyxy& box, int width, int height) {
  const float w = static_cast<float>(width), h = static_cast<float>(height);
  return {std::clamp(box[0], 0.0f, w), std::clamp(box[1], 0.0f, h), std::clamp(box[2], 0.0f, w),
          std::clamp(box[3], 0.0f, h)};
}

const char* SweepOutcomeName(SweepOutcome outcome) {
  switch (outcome) {
    case SweepOutcome::kFound:
      return "found";
    case SweepOutcome::kMoved:
      return "moved";
    case SweepOutcome::kExtra:
      return "extra";
    case SweepOutcome::kLost:
      return "lost";
  }
  return "lost";
}

SweepJudgement JudgeSweepImage(const FaceGeometry& expected, int width, int height,
                               const std::vector<FaceGeometry>& reported) {
  SweepJudgement j;
  j.faces = static_cast<int>(reported.size());
  j.landmark_error = std::numeric_limits<float>::infinity();
  const BoxXyxy want = ClipBox(expected.box, width, height);
  const float face_w = expected.box[2] - expected.box[0];
  const FaceGeometry* best = nullptr;
  int best_index = -1;
  for (size_t i = 0; i < reported.size(); ++i) {
    const float iou = BoxIoU(want, ClipBox(reported[i].box, width, height));
    if (iou > j.best_iou) {
      j.best_iou = iou;
      best = &reported[i];
      best_index = static_cast<int>(i);
    }
  }
  if (best != nullptr) {
    float worst = 0;
    for (size_t i = 0; i < expected.landmarks.size(); ++i) {
      const float d = std::hypot(best->landmarks[i][0] - expected.landmarks[i][0],
                                 best->landmarks[i][1] - expected.landmarks[i][1]);
      j.landmark_errors[i] = face_w > 0 ? d / face_w : d;
      worst = std::max(worst, d);
    }
    j.landmark_error = face_w > 0 ? worst / face_w : j.landmark_error;
  }
  if (best == nullptr || j.best_iou < kSweepMinIoU) {
    j.outcome = SweepOutcome::kLost;
    return j;
  }
  j.matched = best_index;
  for (size_t i = 0; i < reported.size(); ++i) {
    if (static_cast<int>(i) == best_index) continue;
    const BoxXyxy other = ClipBox(reported[i].box, width, height);
    const float area = (other[2] - other[0]) * (other[3] - other[1]);
    const float ix = std::max(0.0f, std::min(other[2], want[2]) - std::max(other[0], want[0]));
    const float iy = std::max(0.0f, std::min(other[3], want[3]) - std::max(other[1], want[1]));
    if (area > 0 && ix * iy >= 0.5f * area) ++j.others_on_face;
  }
  j.outcome = j.faces > 1 ? SweepOutcome::kExtra
              : j.landmark_error <= kSweepMaxLandmarkError ? SweepOutcome::kFound
                                                           : SweepOutcome::kMoved;
  return j;
}

}  // namespace faceserve::client
