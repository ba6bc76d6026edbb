// facectl make-clip PHOTO... --out CLIP.mp4: a video made from still photos,
// the camera zooming in and panning across each in turn, so that its faces
// move, grow and change between frames: the README's stream tour runs on one
// made from face-api's demo photos (a fresh clone has no video).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <opencv2/imgproc.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/commands.h"
#include "client/image_files.h"
#include "client/json_output.h"
#include "client/video_file.h"
#include "core/utilizer/annotator.h"

namespace faceserve::client {
namespace {

// The window of `photo` seen at t in [0, 1]: the output's aspect ratio, from
// the whole photo's width (or height) down to 65 % of it, moving from one
// side to the other (right to left on every other photo).
cv::Rect2d CameraWindow(const cv::Size& photo, const cv::Size& out, double t, bool reverse) {
  const double aspect = static_cast<double>(out.width) / out.height;
  double w = photo.width, h = photo.width / aspect;
  if (h > photo.height) {
    h = photo.height;
    w = h * aspect;
  }
  const double scale = 1.0 - 0.35 * t;
  w *= scale;
  h *= scale;
  const double along = reverse ? 1.0 - t : t;
  const double x = (photo.width - w) * along;
  const double y = (photo.height - h) * 0.5;
  return cv::Rect2d(x, y, w, h);
}

}  // namespace

int RunMakeClipCommand(const CommandContext& ctx, const ParsedArgs& args) {
  if (args.positional.empty()) return ctx.UsageError("make-clip needs at least one PHOTO");
  const std::string out_path = args.Get("out");
  if (out_path.empty()) return ctx.UsageError("make-clip needs --out CLIP.mp4");
  auto fps = args.GetDouble("fps", 25, 1, 120);
  if (!fps.ok()) return ctx.UsageError(fps.status().message());
  auto seconds = args.GetDouble("seconds-per-photo", 2, 0.2, 3600);
  if (!seconds.ok()) return ctx.UsageError(seconds.status().message());
  const std::vector<std::string> size = absl::StrSplit(args.Get("size", "640x480"), 'x');
  int width = 0, height = 0;
  if (size.size() != 2 || !absl::SimpleAtoi(size[0], &width) ||
      !absl::SimpleAtoi(size[1], &height) || width < 16 || height < 16 || width > 4096 ||
      height > 4096 || width % 2 != 0 || height % 2 != 0) {
    return ctx.UsageError("--size must be WxH, even, from 16 to 4096");
  }
  absl::StatusOr<std::unique_ptr<VideoFileWriter>> writer =
      VideoFileWriter::Open(out_path, *fps, width, height);
  if (!writer.ok()) return ctx.Fail(writer.status());
  const std::string frames_dir = args.Get("frames");
  if (args.Has("frames") && frames_dir.empty()) return ctx.UsageError("--frames needs a folder");
  if (!frames_dir.empty()) {
    if (absl::Status s = EnsureDirectory(frames_dir); !s.ok()) return ctx.Fail(s);
  }
  const int per_photo = std::max(2, static_cast<int>(*seconds * *fps + 0.5));
  int64_t frames = 0;
  for (size_t p = 0; p < args.positional.size(); ++p) {
    absl::StatusOr<cv::Mat> rgb = ReadRgbFile(args.positional[p]);
    if (!rgb.ok()) return ctx.Fail(rgb.status());
    cv::Mat bgr;
    cv::cvtColor(*rgb, bgr, cv::COLOR_RGB2BGR);
    for (int i = 0; i < per_photo; ++i) {
      const double t = static_cast<double>(i) / (per_photo - 1);
      const cv::Rect2d window = CameraWindow(bgr.size(), cv::Size(width, height), t, p % 2 == 1);
      // The window mapped onto the output by one affine warp (sub-pixel pans).
      const double sx = width / window.width, sy = height / window.height;
      const cv::Matx23d m(sx, 0, -window.x * sx, 0, sy, -window.y * sy);
      cv::Mat frame;
      cv::warpAffine(bgr, frame, m, cv::Size(width, height), cv::INTER_AREA, cv::BORDER_REPLICATE);
      if (absl::Status s = (*writer)->Write(frame); !s.ok()) return ctx.Fail(s);
      if (!frames_dir.empty()) {  // the same frame as a JPEG file, for unary calls
        cv::Mat rgb_frame;
        cv::cvtColor(frame, rgb_frame, cv::COLOR_BGR2RGB);
        absl::StatusOr<std::string> jpeg = EncodeJpeg(rgb_frame, 90);
        if (!jpeg.ok()) return ctx.Fail(jpeg.status());
        char name[32];
        std::snprintf(name, sizeof(name), "frame_%05lld.jpg", static_cast<long long>(frames));
        if (absl::Status s = WriteFileBytes(JoinPath(frames_dir, name), *jpeg); !s.ok()) {
          return ctx.Fail(s);
        }
      }
      ++frames;
    }
  }
  writer->reset();  // closes the file
  *ctx.out << ToJsonLine(Json{{"clip", out_path},
                              {"frames", frames},
                              {"fps", *fps},
                              {"width", width},
                              {"height", height}})
           << std::endl;
  return 0;
}

}  // namespace faceserve::client
