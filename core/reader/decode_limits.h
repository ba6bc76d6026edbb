// The largest image a decoder allocates: OpenCV's imdecode limits
// (CV_IO_MAX_IMAGE_WIDTH/HEIGHT/PIXELS in imgcodecs/src/loadsave.cpp), which
// the decoders keep so that none of them, called on its own, accepts a size
// OpenCV refused. ReadImage's ReaderLimits are far lower and checked first.
#ifndef FACESERVE_CORE_READER_DECODE_LIMITS_H_
#define FACESERVE_CORE_READER_DECODE_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace faceserve {

inline constexpr int64_t kMaxDecodeSide = int64_t{1} << 20;
inline constexpr int64_t kMaxDecodePixels = int64_t{1} << 30;

// INVALID_ARGUMENT ("could not decode <format> image: ...") when width x
// height is not positive or over the limits above.
inline absl::Status CheckDecodeSize(const char* format, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0 || width > kMaxDecodeSide || height > kMaxDecodeSide ||
      width * height > kMaxDecodePixels) {
    return absl::InvalidArgumentError(absl::StrCat("could not decode ", format, " image: size ",
                                                   width, "x", height, " out of range"));
  }
  return absl::OkStatus();
}

}  // namespace faceserve

#endif  // FACESERVE_CORE_READER_DECODE_LIMITS_H_
