#include "core/utilizer/face_sharpness.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "absl/strings/str_format.h"

namespace faceserve {

absl::StatusOr<float> FaceSharpness(const cv::Mat& image, const Box& box) {
  if (image.empty() || image.type() != CV_8UC3) {
    return absl::InvalidArgumentError("sharpness needs an 8-bit RGB image");
  }
  const int x1 = static_cast<int>(std::floor(std::clamp(box.x1, 0.0f, static_cast<float>(image.cols))));
  const int y1 = static_cast<int>(std::floor(std::clamp(box.y1, 0.0f, static_cast<float>(image.rows))));
  const int x2 = static_cast<int>(std::ceil(std::clamp(box.x2, 0.0f, static_cast<float>(image.cols))));
  const int y2 = static_cast<int>(std::ceil(std::clamp(box.y2, 0.0f, static_cast<float>(image.rows))));
  if (x2 - x1 < 2 || y2 - y1 < 2) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "face box (%.1f, %.1f, %.1f, %.1f) does not overlap the %dx%d image", box.x1, box.y1,
        box.x2, box.y2, image.cols, image.rows));
  }
  cv::Mat grey, square, laplacian;
  cv::cvtColor(image(cv::Rect(x1, y1, x2 - x1, y2 - y1)), grey, cv::COLOR_RGB2GRAY);
  // INTER_AREA when shrinking averages the pixels away evenly; a face
  // smaller than the square is enlarged, which adds no edges.
  cv::resize(grey, square, cv::Size(kSharpnessSide, kSharpnessSide), 0, 0,
             grey.cols > kSharpnessSide ? cv::INTER_AREA : cv::INTER_LINEAR);
  cv::Laplacian(square, laplacian, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(laplacian, mean, stddev);
  return static_cast<float>(stddev[0] * stddev[0]);
}

}  // namespace faceserve
