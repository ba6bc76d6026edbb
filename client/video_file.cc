#include "client/video_file.h"

#include <filesystem>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "absl/strings/str_cat.h"

namespace faceserve::client {
namespace {

class OpenCvReader final : public VideoFileReader {
 public:
  explicit OpenCvReader(cv::VideoCapture capture) : capture_(std::move(capture)) {}
  double fps() const override {
    const double fps = capture_.get(cv::CAP_PROP_FPS);
    return fps > 0 && fps < 1000 ? fps : 25.0;
  }
  int64_t frame_count() const override {
    const double n = capture_.get(cv::CAP_PROP_FRAME_COUNT);
    return n > 0 ? static_cast<int64_t>(n) : 0;
  }
  bool Read(cv::Mat* bgr) override { return capture_.read(*bgr) && !bgr->empty(); }

 private:
  mutable cv::VideoCapture capture_;
};

class OpenCvWriter final : public VideoFileWriter {
 public:
  OpenCvWriter(cv::VideoWriter writer, cv::Size size) : writer_(std::move(writer)), size_(size) {}
  absl::Status Write(const cv::Mat& bgr) override {
    if (bgr.size() != size_ || bgr.type() != CV_8UC3) {
      return absl::InvalidArgumentError(absl::StrCat("a video frame must be BGR ", size_.width,
                                                     "x", size_.height));
    }
    writer_.write(bgr);
    return absl::OkStatus();
  }

 private:
  cv::VideoWriter writer_;
  cv::Size size_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<VideoFileReader>> VideoFileReader::Open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  cv::VideoCapture capture(path, cv::CAP_FFMPEG);
  if (!capture.isOpened()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a video FFmpeg can decode"));
  }
  return std::make_unique<OpenCvReader>(std::move(capture));
}

absl::StatusOr<std::unique_ptr<VideoFileWriter>> VideoFileWriter::Open(const std::string& path,
                                                                       double fps, int width,
                                                                       int height) {
  if (width <= 0 || height <= 0 || !(fps > 0)) {
    return absl::InvalidArgumentError("a video needs a positive size and frame rate");
  }
  cv::VideoWriter writer(path, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps,
                         cv::Size(width, height));
  if (!writer.isOpened()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot write an MP4 video there"));
  }
  return std::make_unique<OpenCvWriter>(std::move(writer), cv::Size(width, height));
}

}  // namespace faceserve::client
