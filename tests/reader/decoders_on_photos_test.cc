// Every decoder of core/reader on every photo of the project (the test data
// under ../shared/data/faces and face-api's demo images): exactly OpenCV's
// pixels, format by format.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "core/reader/bmp_decoder.h"
#include "core/reader/image_header.h"
#include "core/reader/jpeg_decoder.h"
#include "core/reader/png_decoder.h"
#include "core/reader/webp_decoder.h"
#include "tests/reader/decoder_test_util.h"

namespace faceserve {
namespace {

using testing_util::ExpectSameAsOpenCv;
using testing_util::ProjectPhotos;
using testing_util::ReadFile;

absl::StatusOr<cv::Mat> Decode(ImageFormat format, const std::string& bytes) {
  switch (format) {
    case ImageFormat::kJpeg: return DecodeJpegToRgb(bytes);
    case ImageFormat::kPng: return DecodePngToRgb(bytes);
    case ImageFormat::kWebp: return DecodeWebpToRgb(bytes);
    case ImageFormat::kBmp: return DecodeBmpToRgb(bytes);
    case ImageFormat::kUnknown: break;
  }
  return absl::InvalidArgumentError("unknown format");
}

TEST(DecodersOnPhotosTest, SamePixelsAsOpenCvOnEveryPhoto) {
  std::map<std::string, int> checked;
  for (const auto& path : ProjectPhotos({".jpg", ".jpeg", ".png", ".webp", ".bmp"})) {
    const std::string bytes = ReadFile(path);
    const ImageFormat format = DetectImageFormat(bytes);
    ASSERT_NE(format, ImageFormat::kUnknown) << path;
    ExpectSameAsOpenCv(Decode(format, bytes), bytes, path.string());
    ++checked[ImageFormatName(format)];
  }
  for (const auto& [format, n] : checked) std::printf("%s: %d photos\n", format.c_str(), n);
  if (checked.empty()) GTEST_SKIP() << "no photos (../shared/data/faces missing)";
  EXPECT_GE(checked["JPEG"], 100);
  EXPECT_GE(checked["PNG"], 100);
}

}  // namespace
}  // namespace faceserve
