// JPEG straight to RGB with libjpeg-turbo, the library behind OpenCV's
// imdecode, with OpenCV 4.6's settings (accurate integer IDCT, fancy
// upsampling) and its CMYK conversion, so the pixels are the same, minus
// OpenCV's detour through BGR and the conversion pass back to RGB.
// Thread-safe.
#ifndef FACESERVE_CORE_READER_JPEG_DECODER_H_
#define FACESERVE_CORE_READER_JPEG_DECODER_H_

#include <string_view>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"

namespace faceserve {

// An RGB CV_8UC3 continuous image of the JPEG's stored size (no EXIF
// orientation applied). YCbCr, RGB and grayscale JPEGs, baseline or
// progressive, and 4-component ones (Adobe CMYK and YCCK: decoded to CMYK and
// converted as OpenCV's icvCvt_CMYK2BGR_8u_C4C3R does, which treats the
// samples as inverted CMYK). INVALID_ARGUMENT with libjpeg's message for data
// it cannot decode, and for other colour spaces. Like OpenCV, libjpeg's
// warnings (e.g. extraneous bytes) are not errors: image_reader.cc rejects
// truncated files before this is called.
absl::StatusOr<cv::Mat> DecodeJpegToRgb(std::string_view bytes);

}  // namespace faceserve

#endif  // FACESERVE_CORE_READER_JPEG_DECODER_H_
