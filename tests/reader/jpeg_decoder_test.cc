// DecodeJpegToRgb against OpenCV's imdecode (the decoder it replaces for
// JPEG): the same pixels on every JPEG photo of the project, grey and
// progressive ones included; CMYK left to OpenCV; bad data an error.
#include "core/reader/jpeg_decoder.h"
#include "core/reader/image_reader.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace faceserve {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

cv::Mat OpenCvRgb(const std::string& bytes) {
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  cv::Mat bgr = cv::imdecode(buffer, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  cv::Mat rgb;
  if (!bgr.empty()) cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

void ExpectSamePixels(const std::string& bytes, const std::string& what) {
  absl::StatusOr<cv::Mat> ours = DecodeJpegToRgb(bytes);
  ASSERT_TRUE(ours.ok()) << what << ": " << ours.status();
  const cv::Mat theirs = OpenCvRgb(bytes);
  ASSERT_EQ(ours->size(), theirs.size()) << what;
  ASSERT_EQ(ours->type(), CV_8UC3) << what;
  EXPECT_TRUE(ours->isContinuous());
  EXPECT_EQ(cv::norm(*ours, theirs, cv::NORM_INF), 0) << what;
}

TEST(JpegDecoderTest, SamePixelsAsOpenCvOnEveryPhoto) {
  const fs::path source = FACESERVE_SOURCE_DIR;
  std::vector<fs::path> roots = {source / "../shared/data/faces",
                                 source / "models/reference/node_modules/@vladmandic/face-api/demo"};
  int checked = 0;
  for (const fs::path& root : roots) {
    if (!fs::exists(root)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".jpg" && ext != ".jpeg") continue;
      ExpectSamePixels(ReadFile(entry.path()), entry.path().string());
      ++checked;
    }
  }
  EXPECT_GE(checked, 100);
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

// A 4-component (CMYK) JPEG written with libjpeg itself.
std::string CmykJpeg(int width, int height) {
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
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<unsigned char> row(width * 4);
  while (cinfo.next_scanline < cinfo.image_height) {
    for (int x = 0; x < width * 4; ++x) row[x] = static_cast<unsigned char>(x * 7 + cinfo.next_scanline * 3);
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string bytes(reinterpret_cast<char*>(out), size);
  free(out);
  return bytes;
}

TEST(JpegDecoderTest, CmykIsLeftToOpenCvByTheReader) {
  const std::string cmyk = CmykJpeg(24, 16);
  EXPECT_EQ(DecodeJpegToRgb(cmyk).status().code(), absl::StatusCode::kUnimplemented);
  ImageInput input;
  input.encoded = cmyk;
  absl::StatusOr<cv::Mat> read = ReadImage(input, ReaderLimits{});
  ASSERT_TRUE(read.ok()) << read.status();
  const cv::Mat theirs = OpenCvRgb(cmyk);
  ASSERT_EQ(read->size(), theirs.size());
  EXPECT_EQ(cv::norm(*read, theirs, cv::NORM_INF), 0);
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
