// The detector's zoom-out pass (detector.zoom_out in the configuration).
//
// A detector has a range of face sizes it was trained on. RetinaFace
// MobileNet-0.25 at 640x640 splits a face wider than about 40 % of its input
// into part-faces (eyes, a mouth, each at a confident score) and misses one
// wider than about 70 %: a selfie or a tight face crop letterboxed to 640 px
// is such a face (bench/results/detectors-*.md). So when the first pass
// finds no face, or any face at least `trigger_width` of the image's longer
// side wide, a second pass runs on the image shrunk inside a square canvas
// `canvas_scale` times its longer side, and CombineZoomOut merges the two.
//
// The merge can add or replace a face, never lose one: a first-pass face
// goes only when a zoomed face takes its place (it overlaps it) or swallows
// it (a part-face lying mostly inside a whole face). A face measured just
// above the trigger in one pass and just below it in the other is one face,
// kept once; when the zoomed pass finds nothing, the first pass stands.
#ifndef FACESERVE_CORE_DETECTOR_ZOOM_OUT_H_
#define FACESERVE_CORE_DETECTOR_ZOOM_OUT_H_

#include <vector>

#include "core/detector/detection_decoder.h"
#include "core/types.h"

namespace faceserve {

// Whether the first pass's faces call for the zoomed-out pass: none found,
// or one at least trigger_width * max(image_width, image_height) wide.
// Never when trigger_width <= 0 (zoom-out off).
bool NeedsZoomOut(const std::vector<Detection>& first, int image_width, int image_height,
                  float trigger_width);

// Two boxes of one face seen by the two passes overlap at least this much
// (measured: IoU 0.6-0.9); two neighbouring faces almost never do.
inline constexpr float kZoomOutSameFaceIoU = 0.3f;
// A first-pass box with at least this share of its area inside a larger
// zoomed face is a part of that face (an eye, a mouth, half a face).
inline constexpr float kZoomOutPartInside = 0.7f;

// The two passes merged (both in image pixels). "Large" is at least
// trigger_width * the image's longer side wide.
//  - A zoomed face is taken when it is large, or when it is the same face
//    (IoU >= kZoomOutSameFaceIoU) as a large first-pass face. Other zoomed
//    faces are small faces the first pass saw at the higher resolution (or
//    did not see at all): they are not taken.
//  - A first-pass face stays unless a taken zoomed face is the same face, or
//    a larger taken zoomed face holds kZoomOutPartInside of it.
// Then non-maximum suppression (options.nms_iou) in descending score order,
// at most options.max_faces.
std::vector<Detection> CombineZoomOut(const std::vector<Detection>& first,
                                      const std::vector<Detection>& zoomed, int image_width,
                                      int image_height, float trigger_width,
                                      const DecodeOptions& options);

}  // namespace faceserve

#endif  // FACESERVE_CORE_DETECTOR_ZOOM_OUT_H_
