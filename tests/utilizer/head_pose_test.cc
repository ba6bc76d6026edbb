// EstimateHeadPose on landmarks made by projecting a 3D head of known pose
// through a pinhole camera: each angle alone, its sign, mirroring, and bad
// input.
#include "core/utilizer/head_pose.h"

#include <cmath>
#include <limits>
#include <vector>

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>

#include "gtest/gtest.h"

namespace faceserve {
namespace {

constexpr int kWidth = 1280, kHeight = 960;
constexpr double kRadians = M_PI / 180.0;

// A head with its own proportions (not the estimator's generic model, so the
// fit is not trivially exact): landmark index and position in camera axes
// (x right, y down, z away from the camera), nose tip at the origin.
struct HeadPoint {
  int landmark;
  cv::Vec3d p;
};
const std::vector<HeadPoint> kHead = {
    {30, {0, 0, 0}},   {8, {0, 320, 70}},     {36, {-215, -165, 140}},
    {45, {215, -165, 140}}, {48, {-140, 155, 120}}, {54, {140, 155, 120}},
};

cv::Matx33d RotationAbout(const cv::Vec3d& axis, double degrees) {
  cv::Matx33d r;
  cv::Rodrigues(axis * (degrees * kRadians), r);
  return r;
}

// 68 landmarks of the head turned by `rotation`, its nose at (cx, cy) px, 40 cm
// away-ish; the points the estimator ignores sit at the nose.
std::vector<Point> Project(const cv::Matx33d& rotation, double cx = kWidth / 2.0,
                           double cy = kHeight / 2.0) {
  const double focal = std::max(kWidth, kHeight);
  const double depth = 4000;
  const cv::Vec3d nose((cx - kWidth / 2.0) * depth / focal, (cy - kHeight / 2.0) * depth / focal,
                       depth);
  std::vector<Point> points(68);
  for (const HeadPoint& h : kHead) {
    const cv::Vec3d c = rotation * h.p + nose;
    points[h.landmark] = {static_cast<float>(focal * c[0] / c[2] + kWidth / 2.0),
                          static_cast<float>(focal * c[1] / c[2] + kHeight / 2.0)};
  }
  for (Point& p : points) {
    if (p.x == 0 && p.y == 0) p = points[30];
  }
  return points;
}

// The landmarks of the mirrored image, as a landmark model labels them (the
// image-left eye corner is always point 36).
std::vector<Point> Mirror(std::vector<Point> points) {
  for (Point& p : points) p.x = kWidth - p.x;
  std::swap(points[36], points[45]);
  std::swap(points[48], points[54]);
  return points;
}

HeadPose Estimate(const std::vector<Point>& points) {
  absl::StatusOr<HeadPose> pose = EstimateHeadPose(points, kWidth, kHeight);
  EXPECT_TRUE(pose.ok()) << pose.status();
  return pose.ok() ? *pose : HeadPose{};
}

TEST(HeadPoseTest, FrontalHeadIsZero) {
  const HeadPose pose = Estimate(Project(cv::Matx33d::eye()));
  // Within the mismatch between this head and the estimator's generic one.
  EXPECT_NEAR(pose.yaw_deg, 0, 3.0);
  EXPECT_NEAR(pose.pitch_deg, 0, 3.0);
  EXPECT_NEAR(pose.roll_deg, 0, 3.0);
}

TEST(HeadPoseTest, TurnedToTheImageRightIsPositiveYaw) {
  for (double degrees : {15.0, 30.0, 45.0}) {
    // About the vertical axis, so that the face's forward direction (-z in
    // the head's frame) swings towards +x.
    const HeadPose right = Estimate(Project(RotationAbout({0, 1, 0}, -degrees)));
    EXPECT_NEAR(right.yaw_deg, degrees, 3.0);
    EXPECT_NEAR(right.pitch_deg, 0, 3.0);
    EXPECT_NEAR(right.roll_deg, 0, 3.0);
    const HeadPose left = Estimate(Project(RotationAbout({0, 1, 0}, degrees)));
    EXPECT_NEAR(left.yaw_deg, -degrees, 3.0);
  }
}

TEST(HeadPoseTest, LookingUpIsPositivePitch) {
  for (double degrees : {10.0, 25.0}) {
    // Forward (-z) tilts towards -y (up in the image).
    const HeadPose up = Estimate(Project(RotationAbout({1, 0, 0}, -degrees)));
    EXPECT_NEAR(up.pitch_deg, degrees, 3.0);
    EXPECT_NEAR(up.yaw_deg, 0, 3.0);
    EXPECT_NEAR(up.roll_deg, 0, 3.0);
    EXPECT_NEAR(Estimate(Project(RotationAbout({1, 0, 0}, degrees))).pitch_deg, -degrees, 3.0);
  }
}

TEST(HeadPoseTest, ClockwiseTiltInTheImageIsPositiveRoll) {
  for (double degrees : {10.0, 30.0}) {
    // About the optical axis: +z rotates +x towards +y, clockwise on screen.
    const HeadPose tilted = Estimate(Project(RotationAbout({0, 0, 1}, degrees)));
    EXPECT_NEAR(tilted.roll_deg, degrees, 1.0);
    EXPECT_NEAR(tilted.yaw_deg, 0, 3.0);
    EXPECT_NEAR(tilted.pitch_deg, 0, 3.0);
  }
}

TEST(HeadPoseTest, MirroredImageNegatesYawAndRollKeepsPitch) {
  const cv::Matx33d r = RotationAbout({0, 1, 0}, -25) * RotationAbout({1, 0, 0}, -10) *
                        RotationAbout({0, 0, 1}, 12);
  // Off-centre, as faces in group photos are.
  const std::vector<Point> points = Project(r, 400, 300);
  const HeadPose pose = Estimate(points);
  const HeadPose mirrored = Estimate(Mirror(points));
  EXPECT_GT(pose.yaw_deg, 15);
  EXPECT_NEAR(mirrored.yaw_deg, -pose.yaw_deg, 0.5);
  EXPECT_NEAR(mirrored.pitch_deg, pose.pitch_deg, 0.5);
  EXPECT_NEAR(mirrored.roll_deg, -pose.roll_deg, 0.5);
}

TEST(HeadPoseTest, BadInputIsInvalidArgument) {
  std::vector<Point> points = Project(cv::Matx33d::eye());
  EXPECT_EQ(EstimateHeadPose({}, kWidth, kHeight).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EstimateHeadPose(std::vector<Point>(points.begin(), points.end() - 1), kWidth, kHeight)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EstimateHeadPose(points, 0, kHeight).status().code(),
            absl::StatusCode::kInvalidArgument);
  points[36].x = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(EstimateHeadPose(points, kWidth, kHeight).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HeadPoseTest, DegenerateLandmarksAreInvalidArgumentNotAnException) {
  // Every landmark on one pixel: no pose to speak of.
  const std::vector<Point> same(68, Point{100, 100});
  EXPECT_EQ(EstimateHeadPose(same, kWidth, kHeight).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Eyes apart but every point on one line: OpenCV's solver asserts (throws);
  // that must come back as a status.
  std::vector<Point> line(68, Point{100, 100});
  for (int i = 0; i < 68; ++i) line[i] = Point{100.0f + i, 100.0f};
  absl::StatusOr<HeadPose> pose = EstimateHeadPose(line, kWidth, kHeight);
  if (!pose.ok()) {
    EXPECT_EQ(pose.status().code(), absl::StatusCode::kInvalidArgument);
  }
  // One point: the rest collapsed on the nose tip but for the eye corners.
  std::vector<Point> two(68, Point{100, 100});
  two[45] = Point{140, 100};
  pose = EstimateHeadPose(two, kWidth, kHeight);
  if (!pose.ok()) {
    EXPECT_EQ(pose.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// A 468-point mesh as a mesh model reports it (x, y image pixels, z depth in
// the same scale, smaller nearer): the four points the estimator reads come
// from a head turned by `rotation` (forehead 10, chin 152, image-left cheek
// contour 234, image-right 454, in camera axes, nose at the origin); the rest
// sit at the nose and must not matter.
struct Mesh {
  std::vector<Point> points;
  std::vector<float> depths;
};
Mesh MeshOf(const cv::Matx33d& rotation, double cx = 500, double cy = 400) {
  Mesh mesh{std::vector<Point>(468, Point{static_cast<float>(cx), static_cast<float>(cy)}),
            std::vector<float>(468, 0.0f)};
  const std::vector<std::pair<int, cv::Vec3d>> key = {
      {10, {0, -100, 20}}, {152, {0, 110, 20}}, {234, {-80, 0, 60}}, {454, {80, 0, 60}}};
  for (const auto& [index, p] : key) {
    const cv::Vec3d c = rotation * p;
    mesh.points[index] = {static_cast<float>(cx + c[0]), static_cast<float>(cy + c[1])};
    mesh.depths[index] = static_cast<float>(c[2]);
  }
  return mesh;
}

HeadPose EstimateMesh(const Mesh& mesh) {
  absl::StatusOr<HeadPose> pose = EstimateHeadPoseFromMesh(mesh.points, mesh.depths);
  EXPECT_TRUE(pose.ok()) << pose.status();
  return pose.ok() ? *pose : HeadPose{};
}

TEST(MeshHeadPoseTest, FrontalMeshIsZero) {
  const HeadPose pose = EstimateMesh(MeshOf(cv::Matx33d::eye()));
  EXPECT_NEAR(pose.yaw_deg, 0, 1e-3);
  EXPECT_NEAR(pose.pitch_deg, 0, 1e-3);
  EXPECT_NEAR(pose.roll_deg, 0, 1e-3);
}

TEST(MeshHeadPoseTest, EachAngleAloneWithItsSign) {
  // Same rotations and signs as the 68-point tests above; the mesh carries
  // depth, so the angles come back exactly.
  for (double degrees : {15.0, 40.0}) {
    const HeadPose right = EstimateMesh(MeshOf(RotationAbout({0, 1, 0}, -degrees)));
    EXPECT_NEAR(right.yaw_deg, degrees, 1e-3);
    EXPECT_NEAR(right.pitch_deg, 0, 1e-3);
    EXPECT_NEAR(right.roll_deg, 0, 1e-3);
    const HeadPose up = EstimateMesh(MeshOf(RotationAbout({1, 0, 0}, -degrees)));
    EXPECT_NEAR(up.pitch_deg, degrees, 1e-3);
    EXPECT_NEAR(up.yaw_deg, 0, 1e-3);
    const HeadPose tilted = EstimateMesh(MeshOf(RotationAbout({0, 0, 1}, degrees)));
    EXPECT_NEAR(tilted.roll_deg, degrees, 1e-3);
    EXPECT_NEAR(tilted.yaw_deg, 0, 1e-3);
  }
}

TEST(MeshHeadPoseTest, MirroredMeshNegatesYawAndRollKeepsPitch) {
  const cv::Matx33d r = RotationAbout({0, 1, 0}, -25) * RotationAbout({1, 0, 0}, -10) *
                        RotationAbout({0, 0, 1}, 12);
  const Mesh mesh = MeshOf(r);
  Mesh mirrored = mesh;
  for (Point& p : mirrored.points) p.x = 1000 - p.x;
  // A mesh model labels the image-left cheek 234 in the mirrored image too.
  std::swap(mirrored.points[234], mirrored.points[454]);
  std::swap(mirrored.depths[234], mirrored.depths[454]);
  const HeadPose pose = EstimateMesh(mesh), flipped = EstimateMesh(mirrored);
  EXPECT_GT(pose.yaw_deg, 15);
  EXPECT_NEAR(flipped.yaw_deg, -pose.yaw_deg, 1e-3);
  EXPECT_NEAR(flipped.pitch_deg, pose.pitch_deg, 1e-3);
  EXPECT_NEAR(flipped.roll_deg, -pose.roll_deg, 1e-3);
}

TEST(MeshHeadPoseTest, BadMeshIsInvalidArgument) {
  Mesh mesh = MeshOf(cv::Matx33d::eye());
  EXPECT_EQ(EstimateHeadPoseFromMesh({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EstimateHeadPoseFromMesh(mesh.points, std::vector<float>(467, 0.0f)).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::vector<Point> one_pixel(468, Point{5, 5});
  EXPECT_EQ(EstimateHeadPoseFromMesh(one_pixel, mesh.depths).status().code(),
            absl::StatusCode::kInvalidArgument);
  mesh.depths[454] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(EstimateHeadPoseFromMesh(mesh.points, mesh.depths).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceserve
