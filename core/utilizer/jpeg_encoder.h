// RGB to JPEG with libjpeg-turbo, with the settings of OpenCV 4.6's
// imencode(".jpg", bgr, {IMWRITE_JPEG_QUALITY, q}) (imgcodecs/src/
// grfmt_jpeg.cpp): jpeg_set_defaults (JFIF header, YCbCr with 4:2:0 chroma
// subsampling, standard Huffman tables, not optimised, baseline, integer
// DCT) then jpeg_set_quality(q, force_baseline), so the bytes are the same as
// OpenCV's, without its detour through BGR. Thread-safe.
#ifndef FACESERVE_CORE_UTILIZER_JPEG_ENCODER_H_
#define FACESERVE_CORE_UTILIZER_JPEG_ENCODER_H_

#include <string>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"

namespace faceserve {

// JPEG bytes of `rgb`, a non-empty CV_8UC3 image (any row step, e.g. a crop).
// INVALID_ARGUMENT for another type or a quality outside 1..100; INTERNAL
// with libjpeg's message when libjpeg fails (out of memory).
absl::StatusOr<std::string> EncodeRgbToJpeg(const cv::Mat& rgb, int quality);

}  // namespace faceserve

#endif  // FACESERVE_CORE_UTILIZER_JPEG_ENCODER_H_
