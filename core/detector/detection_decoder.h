// Turns a detector's raw outputs (all anchors, normalised to its square
// input) into faces in original-image pixels: threshold, non-maximum
// suppression, mapping back through the letterbox. Pure functions.
#ifndef FACESERVE_CORE_DETECTOR_DETECTION_DECODER_H_
#define FACESERVE_CORE_DETECTOR_DETECTION_DECODER_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "core/types.h"

namespace faceserve {

// Where the original image sits inside the detector's square input:
// image_px = normalised * side + offset (offset < 0 when the image was centred).
struct LetterboxGeometry {
  float side = 0;  // the padded square's side, in image pixels
  float offset_x = 0;
  float offset_y = 0;
  int image_width = 0;
  int image_height = 0;
};

// Geometry of face-api's pad-to-square: top-left placement, or centred with
// the larger half of the padding after the image; on a canvas canvas_scale
// times the longer side (MakeLetterbox, as LetterboxToTensor pads).
LetterboxGeometry MakeLetterboxGeometry(int image_width, int image_height, bool center,
                                        float canvas_scale = 1.0f);

struct DecodeOptions {
  float min_score = 0.5f;  // kept when score > min_score (face-api's rule)
  float nms_iou = 0.5f;    // suppressed when IoU > nms_iou
  int max_faces = 100;
};

// Whether a box (already clamped to the image) touches the image border or
// comes within kTruncatedMarginPx of it: a face cut by the border, or one
// that may be. Detection::truncated.
inline constexpr float kTruncatedMarginPx = 2.0f;
bool IsTruncated(const Box& box, int image_width, int image_height);

// Greedy NMS in descending score order; returns kept indices, best first.
std::vector<int> NonMaxSuppression(const std::vector<Box>& boxes, const std::vector<float>& scores,
                                   const DecodeOptions& options);

// boxes: [K,4] (x1,y1,x2,y2 normalised), scores: [K], landmarks: [K,2P]
// normalised or nullptr. INVALID_ARGUMENT when the shapes disagree.
absl::StatusOr<std::vector<Detection>> DecodeDetections(const Tensor& boxes, const Tensor& scores,
                                                        const Tensor* landmarks,
                                                        const LetterboxGeometry& geometry,
                                                        const DecodeOptions& options);

}  // namespace faceserve

#endif  // FACESERVE_CORE_DETECTOR_DETECTION_DECODER_H_
