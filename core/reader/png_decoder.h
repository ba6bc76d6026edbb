// PNG straight to RGB with libpng, asking libpng for the same transformations
// as OpenCV 4.6's imdecode(IMREAD_COLOR) (imgcodecs/src/grfmt_png.cpp), so
// the pixels are the same: 16-bit samples keep their high byte
// (png_set_strip_16), alpha and tRNS transparency are dropped, not blended
// with a background (png_set_strip_alpha), palettes and 1/2/4-bit greys are
// expanded, grey is replicated to RGB, and no gamma correction is applied
// (gAMA, sRGB and iCCP chunks are ignored). Interlaced images are supported.
// Thread-safe.
#ifndef FACESERVE_CORE_READER_PNG_DECODER_H_
#define FACESERVE_CORE_READER_PNG_DECODER_H_

#include <string_view>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"

namespace faceserve {

// An RGB CV_8UC3 continuous image of the PNG's size. INVALID_ARGUMENT with
// libpng's message for data it cannot decode, a CRC error in a critical chunk
// and a file that ends before its IEND chunk (a truncated PNG is an error,
// never an image with missing rows).
absl::StatusOr<cv::Mat> DecodePngToRgb(std::string_view bytes);

}  // namespace faceserve

#endif  // FACESERVE_CORE_READER_PNG_DECODER_H_
