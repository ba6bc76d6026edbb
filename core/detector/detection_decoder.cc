#include "core/detector/detection_decoder.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/letterbox.h"

namespace faceserve {

LetterboxGeometry MakeLetterboxGeometry(int image_width, int image_height, bool center,
                                        float canvas_scale) {
  const Letterbox box = MakeLetterbox(image_width, image_height, center, canvas_scale);
  LetterboxGeometry g;
  g.image_width = image_width;
  g.image_height = image_height;
  g.side = static_cast<float>(box.side);
  g.offset_x = -static_cast<float>(box.left);
  g.offset_y = -static_cast<float>(box.top);
  return g;
}

bool IsTruncated(const Box& box, int image_width, int image_height) {
  return box.x1 <= kTruncatedMarginPx || box.y1 <= kTruncatedMarginPx ||
         box.x2 >= static_cast<float>(image_width) - kTruncatedMarginPx ||
         box.y2 >= static_cast<float>(image_height) - kTruncatedMarginPx;
}

std::vector<int> NonMaxSuppression(const std::vector<Box>& boxes, const std::vector<float>& scores,
                                   const DecodeOptions& options) {
  std::vector<int> candidates;
  for (int i = 0; i < static_cast<int>(scores.size()); ++i) {
    if (scores[i] > options.min_score) candidates.push_back(i);
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](int a, int b) { return scores[a] > scores[b]; });
  std::vector<int> kept;
  for (int c : candidates) {
    if (static_cast<int>(kept.size()) >= options.max_faces) break;
    bool suppressed = false;
    for (int k : kept) {
      if (IoU(boxes[c], boxes[k]) > options.nms_iou) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(c);
  }
  return kept;
}

absl::StatusOr<std::vector<Detection>> DecodeDetections(const Tensor& boxes, const Tensor& scores,
                                                        const Tensor* landmarks,
                                                        const LetterboxGeometry& geometry,
                                                        const DecodeOptions& options) {
  if (boxes.shape.size() != 2 || boxes.shape[1] != 4 || scores.shape.size() != 1 ||
      scores.shape[0] != boxes.shape[0]) {
    return absl::InternalError(absl::StrCat("detector outputs have unexpected shapes: boxes ",
                                            boxes.ShapeString(), ", scores ",
                                            scores.ShapeString()));
  }
  const int64_t k = boxes.shape[0];
  int points = 0;
  if (landmarks != nullptr) {
    if (landmarks->shape.size() != 2 || landmarks->shape[0] != k || landmarks->shape[1] % 2 != 0) {
      return absl::InternalError(
          absl::StrCat("detector landmarks have unexpected shape ", landmarks->ShapeString()));
    }
    points = static_cast<int>(landmarks->shape[1] / 2);
  }
  // Normalised boxes for NMS (scale-invariant), only for candidates.
  std::vector<Box> normalised(k);
  std::vector<float> score_values(scores.data.begin(), scores.data.end());
  for (int64_t i = 0; i < k; ++i) {
    const float* b = &boxes.data[i * 4];
    normalised[i] = Box{b[0], b[1], b[2], b[3]};
    if (!std::isfinite(score_values[i])) score_values[i] = 0;
  }
  const std::vector<int> kept = NonMaxSuppression(normalised, score_values, options);

  const float w = static_cast<float>(geometry.image_width);
  const float h = static_cast<float>(geometry.image_height);
  auto to_x = [&](float v) { return std::clamp(v * geometry.side + geometry.offset_x, 0.0f, w); };
  auto to_y = [&](float v) { return std::clamp(v * geometry.side + geometry.offset_y, 0.0f, h); };
  std::vector<Detection> out;
  out.reserve(kept.size());
  for (int i : kept) {
    Detection d;
    const Box& n = normalised[i];
    d.box = Box{to_x(n.x1), to_y(n.y1), to_x(n.x2), to_y(n.y2)};
    if (d.box.area() <= 0) continue;  // entirely inside the padding
    d.score = score_values[i];
    d.truncated = IsTruncated(d.box, geometry.image_width, geometry.image_height);
    for (int p = 0; p < points; ++p) {
      const float* l = &landmarks->data[i * points * 2 + p * 2];
      d.landmarks.push_back(Point{to_x(l[0]), to_y(l[1])});
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace faceserve
