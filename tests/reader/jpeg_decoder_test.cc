// DecodeJpegToRgb against OpenCV's imdecode (the decoder it replaces for
// JPEG): the same pixels for grey, progressive and odd-sized JPEGs and for
// CMYK and YCCK ones (decoders_on_photos_test.cc covers the project's
// photos); bad data an error.
#include "core/reader/jpeg_decoder.h"
#include "core/reader/image_reader.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "tests/reader/decoder_test_util.h"

namespace faceserve {
namespace {

using testing_util::ExpectSameAsOpenCv;
using testing_util::OpenCvRgb;

void ExpectSamePixels(const std::string& bytes, const std::string& what) {
  ExpectSameAsOpenCv(DecodeJpegToRgb(bytes), bytes, what);
}

TEST(JpegDecoderTest, SamePixelsForGreyProgressiveAndOddSizes) {
  cv::Mat image(37, 53, CV_8UC3);
  cv::randu(image, 0, 256);
  cv::GaussianBlur(image, image, cv::Size(5, 5), 2);
  std::vector<uchar> buf;
  ASSERT_TRUE(cv::imencode(".jpg", image, buf, {cv::IMWRITE_JPEG_QUALITY, 90}));
  ExpectSamePixels(std::string(buf.begin(), buf.end()), "colour");
  ASSERT_TRUE(cv::imencode(".jpg", image, buf, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  ExpectSamePixels(std::string(buf.begin(), buf.end()), "progressive");
  cv::Mat grey;
  cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
  ASSERT_TRUE(cv::imencode(".jpg", grey, buf));
  ExpectSamePixels(std::string(buf.begin(), buf.end()), "grey");
}

// A 4-component JPEG written with libjpeg itself: Adobe CMYK, or YCCK
// (libjpeg converts, and writes the Adobe marker saying which).
std::string FourComponentJpeg(int width, int height, J_COLOR_SPACE stored, int quality) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &out, &size);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_colorspace(&cinfo, stored);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(width * 4);
  while (cinfo.next_scanline < cinfo.image_height) {
    for (int x = 0; x < width * 4; ++x) {
      row[x] = static_cast<unsigned char>(x * 7 + cinfo.next_scanline * 3 + (x % 4) * 50);
    }
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string bytes(reinterpret_cast<char*>(out), size);
  free(out);
  return bytes;
}

TEST(JpegDecoderTest, CmykAndYcckSamePixelsAsOpenCv) {
  for (J_COLOR_SPACE stored : {JCS_CMYK, JCS_YCCK}) {
    for (const cv::Size size : {cv::Size(24, 16), cv::Size(1, 1), cv::Size(61, 37)}) {
      for (int quality : {50, 95}) {
        const std::string jpeg = FourComponentJpeg(size.width, size.height, stored, quality);
        const std::string what = std::string(stored == JCS_CMYK ? "CMYK " : "YCCK ") +
                                 std::to_string(size.width) + "x" + std::to_string(size.height);
        ExpectSamePixels(jpeg, what);
        // And through the reader, which no longer hands these to OpenCV.
        ImageInput input;
        input.encoded = jpeg;
        absl::StatusOr<cv::Mat> read = ReadImage(input, ReaderLimits{});
        ASSERT_TRUE(read.ok()) << read.status();
        EXPECT_EQ(cv::norm(*read, OpenCvRgb(jpeg), cv::NORM_INF), 0) << what;
      }
    }
  }
}

// OpenCV's conversion spelt out on flat colours: each channel is
// k - ((255 - c) * k >> 8) of the stored (inverted) samples.
TEST(JpegDecoderTest, CmykConversionIsOpenCvs) {
  for (const cv::Vec4b& cmyk : {cv::Vec4b(255, 255, 255, 255), cv::Vec4b(0, 0, 0, 0),
                               cv::Vec4b(0, 128, 255, 200), cv::Vec4b(30, 60, 90, 255)}) {
    jpeg_compress_struct cinfo;
    jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    unsigned char* out = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &out, &size);
    cinfo.image_width = 16;
    cinfo.image_height = 16;
    cinfo.input_components = 4;
    cinfo.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 100, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    std::vector<unsigned char> row;
    for (int x = 0; x < 16; ++x) row.insert(row.end(), cmyk.val, cmyk.val + 4);
    while (cinfo.next_scanline < cinfo.image_height) {
      JSAMPROW r = row.data();
      jpeg_write_scanlines(&cinfo, &r, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    const std::string jpeg(reinterpret_cast<char*>(out), size);
    free(out);
    absl::StatusOr<cv::Mat> rgb = DecodeJpegToRgb(jpeg);
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    const int k = cmyk[3];
    for (int c = 0; c < 3; ++c) {
      // Flat CMYK at quality 100 survives within 1.
      EXPECT_NEAR(rgb->at<cv::Vec3b>(8, 8)[c], k - (((255 - cmyk[c]) * k) >> 8), 1)
          << cmyk << " channel " << c;
    }
    ExpectSamePixels(jpeg, "flat CMYK");
  }
}

TEST(JpegDecoderTest, BadDataIsInvalidArgument) {
  for (const std::string& bytes :
       {std::string(), std::string("\xFF\xD8\xFF"), std::string("not a jpeg at all"),
        std::string("\xFF\xD8\xFF\xDB\x00\x02\xFF\xD9", 8)}) {
    absl::StatusOr<cv::Mat> r = DecodeJpegToRgb(bytes);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_NE(r.status().message().find("could not decode JPEG image: "), std::string::npos);
  }
}

}  // namespace
}  // namespace faceserve
