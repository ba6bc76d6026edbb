// video_file.h without OpenCV's videoio (the GPU deps kit carries none).
#include "client/video_file.h"

namespace faceserve::client {

absl::StatusOr<std::unique_ptr<VideoFileReader>> VideoFileReader::Open(const std::string&) {
  return absl::UnimplementedError("this facectl was built without OpenCV videoio: no video files");
}

absl::StatusOr<std::unique_ptr<VideoFileWriter>> VideoFileWriter::Open(const std::string&, double,
                                                                       int, int) {
  return absl::UnimplementedError("this facectl was built without OpenCV videoio: no video files");
}

}  // namespace faceserve::client
