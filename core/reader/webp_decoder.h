// WebP straight to RGB with libwebp, as OpenCV 4.6's imdecode(IMREAD_COLOR)
// does it (imgcodecs/src/grfmt_webp.cpp), so the pixels are the same: lossy
// and lossless, default decoder options (fancy upsampling); an image with
// alpha is decoded with its alpha, which is then dropped (not blended).
// Animated WebP is an error, as in OpenCV. Thread-safe.
#ifndef FACESERVE_CORE_READER_WEBP_DECODER_H_
#define FACESERVE_CORE_READER_WEBP_DECODER_H_

#include <string_view>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"

namespace faceserve {

// An RGB CV_8UC3 continuous image of the WebP's size. INVALID_ARGUMENT naming
// libwebp's status for data it cannot decode (truncated files included) and
// for animations.
absl::StatusOr<cv::Mat> DecodeWebpToRgb(std::string_view bytes);

}  // namespace faceserve

#endif  // FACESERVE_CORE_READER_WEBP_DECODER_H_
