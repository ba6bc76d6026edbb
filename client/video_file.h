// Video files for facectl (OpenCV videoio through FFmpeg: MP4 with H.264 or
// mp4v, AVI with MJPG, ...). Built without videoio (the GPU deps kit), Open()
// is UNIMPLEMENTED and says so. Frames are BGR, 8 bits per channel.
#ifndef FACESERVE_CLIENT_VIDEO_FILE_H_
#define FACESERVE_CLIENT_VIDEO_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace faceserve::client {

class VideoFileReader {
 public:
  // NOT_FOUND when the file does not exist, INVALID_ARGUMENT when it is not
  // a video FFmpeg can decode.
  static absl::StatusOr<std::unique_ptr<VideoFileReader>> Open(const std::string& path);
  virtual ~VideoFileReader() = default;
  virtual double fps() const = 0;             // the file's; 25 when it states none
  virtual int64_t frame_count() const = 0;    // as the container states it; 0: unknown
  virtual bool Read(cv::Mat* bgr) = 0;        // the next frame; false at the end
};

class VideoFileWriter {
 public:
  // An MP4 (mp4v) at `fps`, every frame `width` x `height`.
  static absl::StatusOr<std::unique_ptr<VideoFileWriter>> Open(const std::string& path, double fps,
                                                               int width, int height);
  virtual ~VideoFileWriter() = default;
  virtual absl::Status Write(const cv::Mat& bgr) = 0;
};

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_VIDEO_FILE_H_
