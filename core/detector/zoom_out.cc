#include "core/detector/zoom_out.h"

#include <algorithm>

namespace faceserve {
namespace {

float MinWidth(int image_width, int image_height, float trigger_width) {
  return trigger_width * static_cast<float>(std::max(image_width, image_height));
}

// The share of a's area that lies inside b.
float ShareInside(const Box& a, const Box& b) {
  const Box inter{std::max(a.x1, b.x1), std::max(a.y1, b.y1), std::min(a.x2, b.x2),
                  std::min(a.y2, b.y2)};
  return a.area() > 0 ? inter.area() / a.area() : 0.0f;
}

bool SameFace(const Detection& a, const Detection& b) {
  return IoU(a.box, b.box) >= kZoomOutSameFaceIoU;
}

}  // namespace

bool NeedsZoomOut(const std::vector<Detection>& first, int image_width, int image_height,
                  float trigger_width) {
  if (trigger_width <= 0) return false;
  const float min_width = MinWidth(image_width, image_height, trigger_width);
  return first.empty() || std::any_of(first.begin(), first.end(), [&](const Detection& d) {
           return d.box.width() >= min_width;
         });
}

std::vector<Detection> CombineZoomOut(const std::vector<Detection>& first,
                                      const std::vector<Detection>& zoomed, int image_width,
                                      int image_height, float trigger_width,
                                      const DecodeOptions& options) {
  const float min_width = MinWidth(image_width, image_height, trigger_width);
  auto large = [&](const Detection& d) { return d.box.width() >= min_width; };

  std::vector<Detection> taken;
  for (const Detection& z : zoomed) {
    const bool replaces_large = std::any_of(first.begin(), first.end(), [&](const Detection& f) {
      return large(f) && SameFace(f, z);
    });
    if (large(z) || replaces_large) taken.push_back(z);
  }
  std::vector<Detection> candidates = taken;
  for (const Detection& f : first) {
    const bool displaced = std::any_of(taken.begin(), taken.end(), [&](const Detection& z) {
      return SameFace(f, z) ||
             (z.box.area() > f.box.area() && ShareInside(f.box, z.box) >= kZoomOutPartInside);
    });
    if (!displaced) candidates.push_back(f);
  }

  std::vector<Box> boxes;
  std::vector<float> scores;
  for (const Detection& d : candidates) {
    boxes.push_back(d.box);
    scores.push_back(d.score);
  }
  // Every candidate already passed the score threshold in its own pass.
  DecodeOptions nms = options;
  nms.min_score = -1.0f;
  std::vector<Detection> kept;
  for (int i : NonMaxSuppression(boxes, scores, nms)) kept.push_back(candidates[i]);
  return kept;
}

}  // namespace faceserve
