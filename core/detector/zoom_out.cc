#include "core/detector/zoom_out.h"

#include <algorithm>

namespace faceserve {
namespace {

float MinWidth(int image_width, int image_height, float trigger_width) {
  return trigger_width * static_cast<float>(std::max(image_width, image_height));
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
  std::vector<Detection> candidates;
  for (const Detection& d : first) {
    if (d.box.width() < min_width) candidates.push_back(d);
  }
  for (const Detection& d : zoomed) {
    if (d.box.width() >= min_width) candidates.push_back(d);
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
