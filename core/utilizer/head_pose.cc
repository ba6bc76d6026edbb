#include "core/utilizer/head_pose.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>

#include "absl/strings/str_cat.h"

namespace faceserve {
namespace {

constexpr double kDegrees = 180.0 / M_PI;

// The generic head of learnopencv's "Head Pose Estimation using OpenCV and
// Dlib" (arbitrary units, nose tip at the origin), with its 68-point indices,
// turned into the camera's axes (x right, y down, z away from the viewer) so
// that a frontal head has the identity rotation.
struct ModelPoint {
  int landmark;
  double x, y, z;
};
constexpr std::array<ModelPoint, 6> kModel = {{
    {30, 0.0, 0.0, 0.0},          // nose tip
    {8, 0.0, 330.0, 65.0},        // chin
    {36, -225.0, -170.0, 135.0},  // outer corner of the image-left eye
    {45, 225.0, -170.0, 135.0},   // outer corner of the image-right eye
    {48, -150.0, 150.0, 125.0},   // image-left mouth corner
    {54, 150.0, 150.0, 125.0},    // image-right mouth corner
}};

}  // namespace

absl::StatusOr<HeadPose> EstimateHeadPose(const std::vector<Point>& landmarks68, int image_width,
                                          int image_height) {
  if (landmarks68.size() != 68) {
    return absl::InvalidArgumentError(
        absl::StrCat("head pose needs 68 landmarks, got ", landmarks68.size()));
  }
  if (image_width <= 0 || image_height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("head pose: bad image size ", image_width, "x", image_height));
  }
  std::vector<cv::Point3d> model;
  std::vector<cv::Point2d> image;
  for (const ModelPoint& m : kModel) {
    const Point& p = landmarks68[m.landmark];
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
      return absl::InvalidArgumentError("head pose: landmarks are not finite");
    }
    model.emplace_back(m.x, m.y, m.z);
    image.emplace_back(p.x, p.y);
  }
  if (std::hypot(landmarks68[45].x - landmarks68[36].x, landmarks68[45].y - landmarks68[36].y) <
      1.0) {
    return absl::InvalidArgumentError("head pose: the eye corners are less than a pixel apart");
  }
  const double focal = std::max(image_width, image_height);
  const cv::Matx33d camera(focal, 0, image_width / 2.0, 0, focal, image_height / 2.0, 0, 0, 1);
  // SQPnP: a global optimum with no initial guess to make up (and faster here
  // than the iterative solver: ~0.3 ms against ~0.5 ms a face).
  cv::Vec3d rvec, tvec;
  try {
    if (!cv::solvePnP(model, image, camera, cv::noArray(), rvec, tvec,
                      /*useExtrinsicGuess=*/false, cv::SOLVEPNP_SQPNP)) {
      return absl::InternalError("head pose: solvePnP found no pose");
    }
  } catch (const cv::Exception& e) {
    // OpenCV asserts on degenerate point sets (e.g. collinear landmarks).
    return absl::InvalidArgumentError(absl::StrCat("head pose: ", e.what()));
  }
  cv::Matx33d rotation;
  cv::Rodrigues(rvec, rotation);
  // Columns of the rotation: the head's axes in the camera frame.
  const cv::Vec3d across(rotation(0, 0), rotation(1, 0), rotation(2, 0));
  const cv::Vec3d forward(-rotation(0, 2), -rotation(1, 2), -rotation(2, 2));
  HeadPose pose;
  pose.yaw_deg = static_cast<float>(std::atan2(forward[0], -forward[2]) * kDegrees);
  pose.pitch_deg = static_cast<float>(
      std::atan2(-forward[1], std::hypot(forward[0], forward[2])) * kDegrees);
  pose.roll_deg = static_cast<float>(std::atan2(across[1], across[0]) * kDegrees);
  if (!std::isfinite(pose.yaw_deg) || !std::isfinite(pose.pitch_deg) ||
      !std::isfinite(pose.roll_deg)) {
    return absl::InternalError("head pose: solvePnP gave no finite pose");
  }
  return pose;
}

absl::StatusOr<HeadPose> EstimateHeadPoseFromMesh(const std::vector<Point>& points,
                                                  const std::vector<float>& depths) {
  constexpr size_t kMeshPoints = 468;
  constexpr int kForehead = 10, kChin = 152, kLeftContour = 234, kRightContour = 454;
  if (points.size() != kMeshPoints || depths.size() != kMeshPoints) {
    return absl::InvalidArgumentError(absl::StrCat("mesh head pose needs ", kMeshPoints,
                                                    " points with depths, got ", points.size(),
                                                    " and ", depths.size()));
  }
  const auto at = [&](int i) { return cv::Vec3d(points[i].x, points[i].y, depths[i]); };
  const cv::Vec3d top = at(kForehead), bottom = at(kChin), left = at(kLeftContour),
                  right = at(kRightContour);
  for (const cv::Vec3d& v : {top, bottom, left, right}) {
    if (!std::isfinite(v[0]) || !std::isfinite(v[1]) || !std::isfinite(v[2])) {
      return absl::InvalidArgumentError("mesh head pose: points are not finite");
    }
  }
  cv::Vec3d across = right - left, down = bottom - top;
  if (cv::norm(across) < 1.0 || cv::norm(down) < 1.0) {
    return absl::InvalidArgumentError("mesh head pose: the face spans less than a pixel");
  }
  across = cv::normalize(across);
  down = cv::normalize(down);
  const cv::Vec3d away = across.cross(down);  // into the image for a frontal face
  if (cv::norm(away) < 1e-6) {
    return absl::InvalidArgumentError("mesh head pose: the face's axes are parallel");
  }
  const cv::Vec3d forward = -cv::normalize(away);
  across = cv::normalize(down.cross(cv::normalize(away)));  // orthogonal to forward again
  HeadPose pose;
  pose.yaw_deg = static_cast<float>(std::atan2(forward[0], -forward[2]) * kDegrees);
  pose.pitch_deg = static_cast<float>(
      std::atan2(-forward[1], std::hypot(forward[0], forward[2])) * kDegrees);
  pose.roll_deg = static_cast<float>(std::atan2(across[1], across[0]) * kDegrees);
  return pose;
}

}  // namespace faceserve
