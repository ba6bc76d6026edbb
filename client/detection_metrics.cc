#include "client/detection_metrics.h"

#include <algorithm>
#include <tuple>

namespace faceserve::client {

float BoxIoU(const BoxXyxy& a, const BoxXyxy& b) {
  const float ix = std::max(0.0f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  const float iy = std::max(0.0f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  const float inter = ix * iy;
  const float area_a = std::max(0.0f, a[2] - a[0]) * std::max(0.0f, a[3] - a[1]);
  const float area_b = std::max(0.0f, b[2] - b[0]) * std::max(0.0f, b[3] - b[1]);
  const float uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

int CountMatched(const std::vector<BoxXyxy>& annotated, const std::vector<BoxXyxy>& detected,
                 float iou_threshold) {
  std::vector<std::tuple<float, size_t, size_t>> pairs;  // (IoU, annotated, detected)
  for (size_t i = 0; i < annotated.size(); ++i) {
    for (size_t j = 0; j < detected.size(); ++j) {
      const float iou = BoxIoU(annotated[i], detected[j]);
      if (iou >= iou_threshold) pairs.emplace_back(iou, i, j);
    }
  }
  std::sort(pairs.begin(), pairs.end(),
            [](const auto& x, const auto& y) { return std::get<0>(x) > std::get<0>(y); });
  std::vector<bool> box_used(annotated.size()), detection_used(detected.size());
  int matched = 0;
  for (const auto& [iou, i, j] : pairs) {
    if (box_used[i] || detection_used[j]) continue;
    box_used[i] = detection_used[j] = true;
    ++matched;
  }
  return matched;
}

void DetectionTally::Add(const std::vector<BoxXyxy>& annotated,
                         const std::vector<BoxXyxy>& detected, float iou_threshold) {
  ++images;
  if (annotated.empty()) {
    ++no_face_images;
    false_positives += static_cast<int64_t>(detected.size());
    return;
  }
  const int matched = CountMatched(annotated, detected, iou_threshold);
  annotated_faces += static_cast<int64_t>(annotated.size());
  matched_faces += matched;
  unmatched_detections += static_cast<int64_t>(detected.size()) - matched;
}

double DetectionTally::recall() const {
  return annotated_faces > 0 ? static_cast<double>(matched_faces) / annotated_faces : 0.0;
}

}  // namespace faceserve::client
