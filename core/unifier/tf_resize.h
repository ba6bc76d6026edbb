// The resampler of every model input: tf.image.resizeBilinear as tfjs runs
// it (face-api's models were trained and are served through it), and the
// detector's letterboxed input built on it. Pure functions, thread-safe.
#ifndef FACESERVE_CORE_UNIFIER_TF_RESIZE_H_
#define FACESERVE_CORE_UNIFIER_TF_RESIZE_H_

#include <opencv2/core.hpp>

#include "core/tensor.h"

namespace faceserve {

// tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false):
// output pixel (x, y) samples the source at (x * in_w / w, y * in_h / h) --
// no half-pixel offset, unlike cv::resize -- with the neighbour index clamped
// at the last row/column. CV_8U or CV_32F input with any channel count;
// returns CV_32F with the same channel count. Precondition: width, height > 0.
cv::Mat ResizeBilinearLikeTf(const cv::Mat& src, int width, int height);

// face-api's padToSquare: zeros appended on the right/bottom, or when
// `center`, round(diff / 2) appended and the rest prepended. CV_32F result.
cv::Mat PadToSquare(const cv::Mat& src, bool center);

// The detector input: PadToSquare then ResizeBilinearLikeTf to size x size,
// as a [3, size, size] float tensor (0..255), computed without materialising
// the padded image. With canvas_scale > 1 the square is that many times the
// image's longer side (MakeLetterbox), so the image shrinks inside the input.
// `image_to_input_scale` (optional) receives size / the square's side.
Tensor LetterboxToTensor(const cv::Mat& rgb, int size, bool center,
                         float* image_to_input_scale = nullptr, float canvas_scale = 1.0f);

// [3, H, W] float tensor from an HWC 3-channel image (CV_8UC3 or CV_32FC3),
// values unchanged (0..255).
Tensor ToTensorCHW(const cv::Mat& rgb);

// The source `src` placed at (left, top) inside a zero canvas of pw x ph,
// resized tf-style to w x h, as an HWC CV_32F image (the primitive the
// functions above and the box crops share).
cv::Mat ResampleTfRegion(const cv::Mat& src, int left, int top, int pw, int ph, int w, int h);

}  // namespace faceserve

#endif  // FACESERVE_CORE_UNIFIER_TF_RESIZE_H_
