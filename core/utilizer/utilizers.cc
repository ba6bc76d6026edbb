#include "core/utilizer/utilizers.h"

#include <utility>

#include "core/utilizer/annotator.h"
#include "core/utilizer/face_sharpness.h"
#include "core/utilizer/head_pose.h"

namespace faceserve {
namespace {

// The first 468-point 3D landmark head among a face's predictions (a face
// mesh), or null.
const HeadResult* FindMeshHead(const Face& face) {
  for (const Prediction& prediction : face.predictions) {
    for (const HeadResult& head : prediction.heads) {
      if (head.kind == HeadKind::kLandmarks3d && head.points.size() == 468) return &head;
    }
  }
  return nullptr;
}

// Head poses from the 68 landmarks and from a face mesh; whether any fitted.
bool EstimateHeadPoses(const cv::Mat& image, std::vector<Face>* faces) {
  bool any = false;
  for (Face& face : *faces) {
    if (face.landmarks68.size() == 68) {
      absl::StatusOr<HeadPose> pose = EstimateHeadPose(face.landmarks68, image.cols, image.rows);
      if (pose.ok()) {
        face.head_pose = *pose;
        face.has_head_pose = true;
        any = true;
      }
    }
    if (const HeadResult* mesh = FindMeshHead(face); mesh != nullptr) {
      absl::StatusOr<HeadPose> pose = EstimateHeadPoseFromMesh(mesh->points, mesh->depths);
      if (pose.ok()) {
        face.mesh_head_pose = *pose;
        face.has_mesh_head_pose = true;
        any = true;
      }
    }
  }
  return any;
}

}  // namespace

absl::StatusOr<UtilizerResult> RunUtilizers(const cv::Mat& image, const UtilizerRequest& request,
                                            std::vector<Face>* faces) {
  UtilizerResult result;
  if (request.head_pose) result.ran = EstimateHeadPoses(image, faces);
  if (request.face_crops) {
    for (Face& face : *faces) {
      absl::StatusOr<std::string> jpeg = FaceCropJpeg(image, face.detection.box);
      if (!jpeg.ok()) return jpeg.status();
      face.crop_jpeg = *std::move(jpeg);
    }
    result.ran = true;
  }
  if (request.sharpness) {
    for (Face& face : *faces) {
      // A box outside the image has no pixels to measure: left unmeasured.
      absl::StatusOr<float> sharpness = FaceSharpness(image, face.detection.box);
      face.sharpness = sharpness.ok() ? *sharpness : -1;
    }
    result.ran = true;
  }
  if (request.annotated_image) {
    absl::StatusOr<std::string> jpeg = DrawAnnotatedJpeg(image, *faces);
    if (!jpeg.ok()) return jpeg.status();
    result.annotated_jpeg = *std::move(jpeg);
    result.ran = true;
  }
  return result;
}

}  // namespace faceserve
