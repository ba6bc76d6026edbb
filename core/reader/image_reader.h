// The reader stage: turns a client's image (encoded file bytes or raw pixels)
// into an RGB image, enforcing size limits before any large allocation and
// applying the JPEG EXIF orientation. Stateless functions, thread-safe.
#ifndef FACESERVE_CORE_READER_IMAGE_READER_H_
#define FACESERVE_CORE_READER_IMAGE_READER_H_

#include <cstdint>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace faceserve {

struct ReaderLimits {
  int64_t max_bytes = 20 << 20;   // encoded file bytes, or raw pixel bytes
  int64_t max_pixels = 40000000;  // width * height, checked before decoding
};

// Returns an RGB CV_8UC3 continuous image, EXIF orientation applied.
// Errors:
//  INVALID_ARGUMENT   empty input, unknown format (message names the accepted
//                     ones), malformed header, undecodable or truncated file,
//                     inconsistent raw geometry (message gives the expected and
//                     actual byte counts);
//  RESOURCE_EXHAUSTED more bytes than limits.max_bytes, or more pixels than
//                     limits.max_pixels (encoded: known from the header,
//                     before decoding).
absl::StatusOr<cv::Mat> ReadImage(const ImageInput& input, const ReaderLimits& limits);

// Applies EXIF orientation `orientation` (1..8; others: unchanged) to `image`
// as a viewer would (stored -> displayed). Exposed for tests.
cv::Mat ApplyExifOrientation(const cv::Mat& image, int orientation);

}  // namespace faceserve

#endif  // FACESERVE_CORE_READER_IMAGE_READER_H_
