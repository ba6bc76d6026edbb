// Head pose (yaw, pitch, roll) from the 68 iBUG landmarks, with no network:
// six of the points are matched to a generic 3D face with OpenCV's solvePnP
// (the "align" output of facetorch that needs no model). Stateless, thread-safe.
//
// The angles describe two directions of the fitted head in the camera frame
// (x right, y down, z away from the camera; a pinhole camera with focal length
// max(width, height) centred on the image):
//   forward: out of the face through the nose; frontal: pointing at the camera.
//     yaw   = atan2(forward.x, -forward.z)            > 0: turned to the image's
//             right (the subject turned to their own left)
//     pitch = atan2(-forward.y, hypot(forward.x, forward.z))  > 0: looking up
//   across: from the image-left eye to the image-right eye of the head.
//     roll  = atan2(across.y, across.x)               > 0: tilted clockwise as
//             seen in the image (the image-right eye lower)
// A mirrored image gives the same pitch and opposite yaw and roll.
#ifndef FACESERVE_CORE_UTILIZER_HEAD_POSE_H_
#define FACESERVE_CORE_UTILIZER_HEAD_POSE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace faceserve {

// INVALID_ARGUMENT unless there are exactly 68 finite points with the outer
// eye corners at least a pixel apart and the image size is positive; INTERNAL
// when solvePnP finds no finite pose.
absl::StatusOr<HeadPose> EstimateHeadPose(const std::vector<Point>& landmarks68, int image_width,
                                          int image_height);

// Head pose read directly from a 468-point face mesh (MediaPipe's point order,
// as human-models' facemesh predicts it): x, y in image pixels, `depths` the
// z of each point in the same scale, smaller nearer the camera. No fitting:
// the head's across axis runs from the image-left cheek contour (point 234)
// to the image-right one (454), its down axis from the forehead (10) to the
// chin (152); forward is their cross product, re-orthogonalised. Same angle
// definitions as EstimateHeadPose above. INVALID_ARGUMENT unless there are
// 468 finite points with as many depths and the four points span at least a
// pixel each way.
absl::StatusOr<HeadPose> EstimateHeadPoseFromMesh(const std::vector<Point>& points,
                                                  const std::vector<float>& depths);

}  // namespace faceserve

#endif  // FACESERVE_CORE_UTILIZER_HEAD_POSE_H_
