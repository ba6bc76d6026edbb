// Detection accuracy against hand-drawn boxes, for facectl eval-detect.
//
// Per image, annotated boxes and detections are matched one to one, greedily
// by IoU (highest first) at IoU >= the threshold (as in PASCAL VOC's
// evaluation). Recall is matched boxes / annotated boxes. Detections on images
// with no annotated face are false positives; unmatched detections on
// annotated images are counted apart (annotations may miss faces). Pure
// functions, no gRPC.
#ifndef FACESERVE_CLIENT_DETECTION_METRICS_H_
#define FACESERVE_CLIENT_DETECTION_METRICS_H_

#include <array>
#include <cstdint>
#include <vector>

namespace faceserve::client {

using BoxXyxy = std::array<float, 4>;  // x1, y1, x2, y2 in pixels

float BoxIoU(const BoxXyxy& a, const BoxXyxy& b);

// Annotated boxes matched at `iou_threshold` (each box and each detection at
// most once).
int CountMatched(const std::vector<BoxXyxy>& annotated, const std::vector<BoxXyxy>& detected,
                 float iou_threshold);

struct DetectionTally {
  int64_t images = 0;
  int64_t annotated_faces = 0;
  int64_t matched_faces = 0;
  int64_t unmatched_detections = 0;  // on images with annotated faces
  int64_t no_face_images = 0;
  int64_t false_positives = 0;       // detections on images with no face

  void Add(const std::vector<BoxXyxy>& annotated, const std::vector<BoxXyxy>& detected,
           float iou_threshold);
  double recall() const;  // 0 when nothing is annotated
};

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_DETECTION_METRICS_H_
