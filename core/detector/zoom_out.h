// The detector's zoom-out pass (detector.zoom_out in the configuration).
//
// A detector has a range of face sizes it was trained on. RetinaFace
// MobileNet-0.25 at 640x640 splits a face wider than about 40 % of its input
// into part-faces (eyes, a mouth, each at a confident score) and misses one
// wider than about 70 %: a selfie or a tight face crop letterboxed to 640 px
// is such a face (bench/results/detectors-*.md). So when the first pass
// finds no face, or any face at least `trigger_width` of the image's longer
// side wide, a second pass runs on the image shrunk inside a square canvas
// `canvas_scale` times its longer side; its faces at least that wide replace
// the first pass's, whose smaller faces (seen at the higher resolution) stay.
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

// The two passes combined: the first pass's faces narrower than
// trigger_width * the longer side and the zoomed pass's faces at least that
// wide, then non-maximum suppression (options.nms_iou) in descending score
// order, at most options.max_faces. Both inputs in image pixels.
std::vector<Detection> CombineZoomOut(const std::vector<Detection>& first,
                                      const std::vector<Detection>& zoomed, int image_width,
                                      int image_height, float trigger_width,
                                      const DecodeOptions& options);

}  // namespace faceserve

#endif  // FACESERVE_CORE_DETECTOR_ZOOM_OUT_H_
