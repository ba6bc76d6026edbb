// EncodeRgbToJpeg against OpenCV's imencode (the encoder it replaces): the
// same bytes at every quality, size and row layout; bad input an error.
#include "core/utilizer/jpeg_encoder.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace faceserve {
namespace {

std::string OpenCvJpeg(const cv::Mat& rgb, int quality) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(".jpg", bgr, buf, {cv::IMWRITE_JPEG_QUALITY, quality}));
  return std::string(buf.begin(), buf.end());
}

cv::Mat Photo(int width, int height) {
  cv::Mat rgb(height, width, CV_8UC3);
  cv::theRNG().state = width * 7919 + height;
  cv::randu(rgb, 0, 256);
  cv::GaussianBlur(rgb, rgb, cv::Size(5, 5), 2);
  return rgb;
}

TEST(JpegEncoderTest, SameBytesAsOpenCvAtEveryQuality) {
  for (const cv::Size size : {cv::Size(37, 23), cv::Size(1, 1), cv::Size(16, 16),
                              cv::Size(640, 480), cv::Size(17, 1000)}) {
    const cv::Mat rgb = Photo(size.width, size.height);
    for (int quality : {1, 10, 50, 75, 90, 95, 100}) {
      absl::StatusOr<std::string> ours = EncodeRgbToJpeg(rgb, quality);
      ASSERT_TRUE(ours.ok()) << ours.status();
      EXPECT_EQ(*ours, OpenCvJpeg(rgb, quality))
          << size.width << "x" << size.height << " quality " << quality;
    }
  }
}

TEST(JpegEncoderTest, CropsWithARowStepEncodeLikeACopy) {
  const cv::Mat rgb = Photo(100, 80);
  const cv::Mat crop = rgb(cv::Rect(13, 7, 41, 29));
  ASSERT_FALSE(crop.isContinuous());
  absl::StatusOr<std::string> ours = EncodeRgbToJpeg(crop, 90);
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_EQ(*ours, OpenCvJpeg(crop.clone(), 90));
}

TEST(JpegEncoderTest, BadInputIsInvalidArgument) {
  const cv::Mat rgb = Photo(8, 8);
  for (int quality : {0, 101, -5}) {
    EXPECT_EQ(EncodeRgbToJpeg(rgb, quality).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(EncodeRgbToJpeg(cv::Mat(), 90).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeRgbToJpeg(cv::Mat(4, 4, CV_8UC1), 90).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeRgbToJpeg(cv::Mat(4, 4, CV_32FC3), 90).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceserve
