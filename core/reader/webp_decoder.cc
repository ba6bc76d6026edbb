#include "core/reader/webp_decoder.h"

#include <cstdint>
#include <string>

#include <webp/decode.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/reader/decode_limits.h"

namespace faceserve {
namespace {

const char* StatusName(VP8StatusCode status) {
  switch (status) {
    case VP8_STATUS_OK: return "ok";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data (truncated file)";
  }
  return "unknown error";
}

absl::Status DecodeError(const std::string& detail) {
  return absl::InvalidArgumentError(absl::StrCat("could not decode WebP image: ", detail));
}

// Decodes into `out` (CV_8UC3 for MODE_RGB, CV_8UC4 for MODE_RGBA), which
// libwebp fills in place.
VP8StatusCode DecodeInto(const uint8_t* data, size_t size, WEBP_CSP_MODE mode, cv::Mat& out) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return VP8_STATUS_INVALID_PARAM;
  config.output.colorspace = mode;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = out.data;
  config.output.u.RGBA.stride = static_cast<int>(out.step);
  config.output.u.RGBA.size = out.total() * out.elemSize();
  const VP8StatusCode status = WebPDecode(data, size, &config);
  WebPFreeDecBuffer(&config.output);  // nothing to free with external memory; kept for symmetry
  return status;
}

}  // namespace

absl::StatusOr<cv::Mat> DecodeWebpToRgb(std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WebPBitstreamFeatures features;
  const VP8StatusCode header = WebPGetFeatures(data, bytes.size(), &features);
  if (header != VP8_STATUS_OK) return DecodeError(StatusName(header));
  if (features.has_animation) return DecodeError("animated WebP is not supported");
  if (absl::Status s = CheckDecodeSize("WebP", features.width, features.height); !s.ok()) {
    return s;
  }
  cv::Mat rgb(features.height, features.width, CV_8UC3);
  if (!features.has_alpha) {
    const VP8StatusCode status = DecodeInto(data, bytes.size(), MODE_RGB, rgb);
    if (status != VP8_STATUS_OK) return DecodeError(StatusName(status));
    return rgb;
  }
  // OpenCV decodes BGRA and then drops the alpha channel; so does this.
  cv::Mat rgba(features.height, features.width, CV_8UC4);
  const VP8StatusCode status = DecodeInto(data, bytes.size(), MODE_RGBA, rgba);
  if (status != VP8_STATUS_OK) return DecodeError(StatusName(status));
  const int from_to[] = {0, 0, 1, 1, 2, 2};
  cv::mixChannels(&rgba, 1, &rgb, 1, from_to, 3);
  return rgb;
}

}  // namespace faceserve
