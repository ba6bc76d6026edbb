#include "core/reader/image_reader.h"

#include <string>
#include <string_view>

#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/error_reason.h"
#include "core/reader/bmp_decoder.h"
#include "core/reader/image_header.h"
#include "core/reader/jpeg_decoder.h"
#include "core/reader/png_decoder.h"
#include "core/reader/webp_decoder.h"

namespace faceserve {
namespace {

// A JPEG whose data stops early still "decodes": libjpeg warns ("Premature
// end of JPEG file") and fills the missing rows with grey, and the decoder
// (like OpenCV's) returns that image. Such an image would be analysed
// silently wrong, so a JPEG without an EOI marker after its first scan is
// rejected. Entropy-coded data cannot contain FF D9 (0xFF bytes are stuffed
// as FF 00), so any FF D9 after the SOS marker is the end of the image;
// trailing bytes after it (some cameras append data) are tolerated. The other
// decoders reject truncated files themselves.
bool JpegHasEndMarker(std::string_view bytes) {
  const size_t sos = bytes.find(std::string_view("\xFF\xDA", 2));
  if (sos == std::string_view::npos) return false;
  const size_t eoi = bytes.rfind(std::string_view("\xFF\xD9", 2));
  return eoi != std::string_view::npos && eoi > sos;
}

absl::Status DecodeError(ImageFormat f, const std::string& detail = "") {
  return absl::InvalidArgumentError(absl::StrCat("could not decode ", ImageFormatName(f),
                                                 " image", detail.empty() ? "" : ": ", detail));
}

// Every decoder returns a continuous RGB CV_8UC3 image of the stored size and
// errors saying "could not decode <format> image: ..." (INVALID_ARGUMENT).
absl::StatusOr<cv::Mat> DecodeToRgb(ImageFormat format, std::string_view bytes) {
  switch (format) {
    case ImageFormat::kJpeg: return DecodeJpegToRgb(bytes);
    case ImageFormat::kPng: return DecodePngToRgb(bytes);
    case ImageFormat::kWebp: return DecodeWebpToRgb(bytes);
    case ImageFormat::kBmp: return DecodeBmpToRgb(bytes);
    case ImageFormat::kUnknown: break;
  }
  return DecodeError(format);
}

absl::StatusOr<cv::Mat> ReadEncoded(const std::string& bytes, const ReaderLimits& limits) {
  if (bytes.empty()) {
    return WithReason(absl::InvalidArgumentError("image is empty"), ErrorReason::kImageEmpty);
  }
  if (static_cast<int64_t>(bytes.size()) > limits.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("image is ", bytes.size(),
                                                     " bytes, over the limit of ",
                                                     limits.max_bytes, " bytes"));
  }
  absl::StatusOr<ImageHeader> header = PeekImageHeader(bytes);
  if (!header.ok()) {
    if (DetectImageFormat(bytes) != ImageFormat::kUnknown) return header.status();
    return WithReason(header.status(), ErrorReason::kUnsupportedFormat);
  }
  const int64_t pixels = int64_t{header->width} * header->height;
  if (pixels > limits.max_pixels) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "image is ", header->width, "x", header->height, " = ", pixels,
        " pixels, over the limit of ", limits.max_pixels, " pixels"));
  }
  if (header->format == ImageFormat::kJpeg && !JpegHasEndMarker(bytes)) {
    return DecodeError(header->format, "truncated (no end-of-image marker)");
  }
  cv::Mat rgb;
  try {
    absl::StatusOr<cv::Mat> decoded = DecodeToRgb(header->format, bytes);
    if (!decoded.ok()) return decoded.status();
    if (decoded->cols != header->stored_width || decoded->rows != header->stored_height) {
      return DecodeError(header->format,
                         absl::StrCat("decoded size ", decoded->cols, "x", decoded->rows,
                                      " disagrees with the header's ", header->stored_width, "x",
                                      header->stored_height));
    }
    rgb = ApplyExifOrientation(*decoded, header->orientation);
  } catch (const cv::Exception& e) {  // allocation failures
    return DecodeError(header->format, e.what());
  }
  if (!rgb.isContinuous()) rgb = rgb.clone();
  return rgb;
}

int BytesPerPixel(ChannelOrder order) {
  switch (order) {
    case ChannelOrder::kRgb:
    case ChannelOrder::kBgr: return 3;
    case ChannelOrder::kRgba:
    case ChannelOrder::kBgra: return 4;
    case ChannelOrder::kGray: return 1;
    case ChannelOrder::kUnspecified: break;
  }
  return 0;
}

absl::StatusOr<cv::Mat> ReadRaw(const ImageInput& input, const ReaderLimits& limits) {
  if (input.width <= 0 || input.height <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("raw image size ", input.width, "x",
                                                   input.height, " is not positive"));
  }
  const int bpp = BytesPerPixel(input.channel_order);
  if (bpp == 0) return absl::InvalidArgumentError("raw image channel order is not specified");
  const int64_t row_bytes = int64_t{input.width} * bpp;
  if (input.stride_bytes < 0 || (input.stride_bytes != 0 && input.stride_bytes < row_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat("raw image stride ", input.stride_bytes,
                                                   " bytes is less than width * ", bpp, " = ",
                                                   row_bytes, " bytes"));
  }
  const int64_t stride = input.stride_bytes == 0 ? row_bytes : input.stride_bytes;
  const int64_t pixels = int64_t{input.width} * input.height;
  if (pixels > limits.max_pixels) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "image is ", input.width, "x", input.height, " = ", pixels,
        " pixels, over the limit of ", limits.max_pixels, " pixels"));
  }
  if (static_cast<int64_t>(input.pixels.size()) > limits.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("raw image is ", input.pixels.size(),
                                                     " bytes, over the limit of ",
                                                     limits.max_bytes, " bytes"));
  }
  const int64_t expected = stride * (input.height - 1) + row_bytes;
  if (static_cast<int64_t>(input.pixels.size()) < expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raw image ", input.width, "x", input.height, " with stride ", stride,
        " needs at least ", expected, " bytes, got ", input.pixels.size()));
  }
  static constexpr int kTypes[] = {0, CV_8UC1, 0, CV_8UC3, CV_8UC4};
  const cv::Mat src(input.height, input.width, kTypes[bpp],
                    const_cast<char*>(input.pixels.data()), static_cast<size_t>(stride));
  cv::Mat rgb;
  try {
    switch (input.channel_order) {
      case ChannelOrder::kRgb: rgb = src.clone(); break;
      case ChannelOrder::kBgr: cv::cvtColor(src, rgb, cv::COLOR_BGR2RGB); break;
      case ChannelOrder::kRgba: cv::cvtColor(src, rgb, cv::COLOR_RGBA2RGB); break;
      case ChannelOrder::kBgra: cv::cvtColor(src, rgb, cv::COLOR_BGRA2RGB); break;
      case ChannelOrder::kGray: cv::cvtColor(src, rgb, cv::COLOR_GRAY2RGB); break;
      case ChannelOrder::kUnspecified: break;
    }
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("could not convert raw image: ", e.what()));
  }
  return rgb;
}

}  // namespace

cv::Mat ApplyExifOrientation(const cv::Mat& image, int orientation) {
  // Same table as OpenCV's ExifTransform (imgcodecs/src/loadsave.cpp).
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(image, out, 1); return out;
    case 3: cv::flip(image, out, -1); return out;
    case 4: cv::flip(image, out, 0); return out;
    case 5: cv::transpose(image, out); return out;
    case 6: cv::transpose(image, out); cv::flip(out, out, 1); return out;
    case 7: cv::transpose(image, out); cv::flip(out, out, -1); return out;
    case 8: cv::transpose(image, out); cv::flip(out, out, 0); return out;
    default: return image;
  }
}

absl::StatusOr<cv::Mat> ReadImage(const ImageInput& input, const ReaderLimits& limits) {
  absl::StatusOr<cv::Mat> image =
      input.is_raw ? ReadRaw(input, limits) : ReadEncoded(input.encoded, limits);
  if (image.ok() || HasReason(image.status())) return image;
  // The decoders' own errors: over a limit, or bytes that do not decode.
  const absl::Status& s = image.status();
  if (s.code() == absl::StatusCode::kResourceExhausted) {
    return WithReason(s, ErrorReason::kImageTooLarge);
  }
  return WithReason(s,
                    input.is_raw ? ErrorReason::kInvalidRawImage : ErrorReason::kImageUndecodable);
}

}  // namespace faceserve
