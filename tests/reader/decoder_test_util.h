// Shared by the decoder tests: OpenCV's imdecode as the reference every
// decoder of core/reader must match pixel for pixel, and the project's photos.
#ifndef FACESERVE_TESTS_READER_DECODER_TEST_UTIL_H_
#define FACESERVE_TESTS_READER_DECODER_TEST_UTIL_H_

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/status/statusor.h"

namespace faceserve {
namespace testing_util {

namespace fs = std::filesystem;

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What the reader replaced: imdecode(IMREAD_COLOR) without EXIF rotation,
// turned to RGB. Empty when OpenCV cannot decode the bytes.
inline cv::Mat OpenCvRgb(const std::string& bytes) {
  if (bytes.empty()) return cv::Mat();
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  const cv::Mat bgr = cv::imdecode(buffer, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
  cv::Mat rgb;
  if (!bgr.empty()) cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

// `ours` decoded `bytes` to exactly OpenCV's pixels.
inline void ExpectSameAsOpenCv(const absl::StatusOr<cv::Mat>& ours, const std::string& bytes,
                               const std::string& what) {
  ASSERT_TRUE(ours.ok()) << what << ": " << ours.status();
  const cv::Mat theirs = OpenCvRgb(bytes);
  ASSERT_FALSE(theirs.empty()) << what << ": OpenCV cannot decode it";
  ASSERT_EQ(ours->type(), CV_8UC3) << what;
  EXPECT_TRUE(ours->isContinuous()) << what;
  ASSERT_EQ(ours->size(), theirs.size()) << what;
  EXPECT_EQ(cv::norm(*ours, theirs, cv::NORM_INF), 0) << what;
}

// BGR(A) image encoded by OpenCV.
inline std::string OpenCvEncode(const cv::Mat& image, const std::string& ext,
                                const std::vector<int>& params = {}) {
  std::vector<uchar> buf;
  EXPECT_TRUE(cv::imencode(ext, image, buf, params)) << ext;
  return std::string(buf.begin(), buf.end());
}

// A smooth random image (compresses like a photo, not like noise).
inline cv::Mat RandomImage(int width, int height, int type, int seed) {
  cv::Mat image(height, width, type);
  cv::theRNG().state = seed;
  cv::randu(image, 0, CV_MAT_DEPTH(type) == CV_16U ? 65536 : 256);
  cv::GaussianBlur(image, image, cv::Size(3, 3), 1);
  return image;
}

// Every file under the project's photo folders (../shared/data/faces, the
// face-api demo) whose extension is in `extensions`, sorted.
inline std::vector<fs::path> ProjectPhotos(const std::set<std::string>& extensions) {
  const fs::path source = FACESERVE_SOURCE_DIR;
  std::vector<fs::path> found;
  for (const fs::path& root :
       {source / "../shared/data/faces",
        source / "models/reference/node_modules/@vladmandic/face-api/demo"}) {
    if (!fs::exists(root)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      std::string ext = entry.path().extension().string();
      for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (entry.is_regular_file() && extensions.count(ext)) found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace testing_util
}  // namespace faceserve

#endif  // FACESERVE_TESTS_READER_DECODER_TEST_UTIL_H_
