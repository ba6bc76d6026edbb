#include "core/utilizer/annotator.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/utilizer/jpeg_encoder.h"

namespace faceserve {
namespace {

absl::Status CheckImage(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.channels() != 3) {
    return absl::InvalidArgumentError("image must be a non-empty 3-channel image");
  }
  return absl::OkStatus();
}

// The image as 8 bits (other depths saturated); shares `rgb`'s pixels when it
// already is 8-bit.
cv::Mat ToRgb8(const cv::Mat& rgb) {
  if (rgb.depth() == CV_8U) return rgb;
  cv::Mat u8;
  rgb.convertTo(u8, CV_8U);
  return u8;
}

std::string FormatValue(float v) {
  if (!std::isfinite(v)) return "nan";
  return std::fabs(v) >= 10 ? absl::StrCat(std::lround(v)) : absl::StrFormat("%.2f", v);
}

cv::Point ToPixel(const Point& p) {
  if (!std::isfinite(p.x) || !std::isfinite(p.y)) return cv::Point(-1, -1);
  return cv::Point(static_cast<int>(std::lround(std::clamp(p.x, -1e6f, 1e6f))),
                   static_cast<int>(std::lround(std::clamp(p.y, -1e6f, 1e6f))));
}

}  // namespace

absl::StatusOr<std::string> EncodeJpeg(const cv::Mat& rgb, int quality) {
  if (absl::Status s = CheckImage(rgb); !s.ok()) return s;
  if (quality < 1 || quality > 100) {
    return absl::InvalidArgumentError(absl::StrCat("JPEG quality ", quality, " not in 1..100"));
  }
  try {
    return EncodeRgbToJpeg(ToRgb8(rgb), quality);
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("JPEG encoding failed: ", e.what()));
  }
}

std::string FaceLabel(const Face& face) {
  std::vector<std::string> parts;
  for (const Prediction& p : face.predictions) {
    for (const HeadResult& h : p.heads) {
      switch (h.kind) {
        case HeadKind::kClassification:
          if (!h.label.empty()) parts.push_back(absl::StrFormat("%s %.2f", h.label, h.label_score));
          break;
        case HeadKind::kMultiLabel:
          if (!h.active_labels.empty()) parts.push_back(absl::StrJoin(h.active_labels, ","));
          break;
        case HeadKind::kRegression:
          for (const auto& [name, value] : h.values) {
            if (name == "age" || name == "age_years") {
              parts.push_back(absl::StrCat(std::lround(std::clamp(value, -1e6f, 1e6f)), "y"));
            } else {
              parts.push_back(absl::StrCat(name, " ", FormatValue(value)));
            }
          }
          break;
        case HeadKind::kEmbedding:
        case HeadKind::kLandmarks:
        case HeadKind::kLandmarks3d: break;
      }
    }
  }
  return absl::StrJoin(parts, " | ");
}

absl::StatusOr<std::string> DrawAnnotatedJpeg(const cv::Mat& rgb,
                                              const std::vector<Face>& faces) {
  if (absl::Status s = CheckImage(rgb); !s.ok()) return s;
  try {
    // Drawn in RGB: the colours below are RGB.
    cv::Mat canvas = ToRgb8(rgb);
    if (canvas.data == rgb.data) canvas = canvas.clone();
    const int side = std::max(canvas.cols, canvas.rows);
    const int thickness = std::max(1, static_cast<int>(std::lround(side / 400.0)));
    const double font_scale = std::max(0.4, side / 1200.0);
    const int font = cv::FONT_HERSHEY_SIMPLEX;
    const cv::Scalar box_color(0, 255, 0), lm5_color(255, 0, 0), lm68_color(0, 255, 255);
    for (const Face& face : faces) {
      const Box& b = face.detection.box;
      const cv::Point tl = ToPixel({b.x1, b.y1}), br = ToPixel({b.x2, b.y2});
      cv::rectangle(canvas, tl, br, box_color, thickness, cv::LINE_AA);
      for (const Point& p : face.landmarks68) {
        cv::circle(canvas, ToPixel(p), thickness, lm68_color, cv::FILLED, cv::LINE_AA);
      }
      for (const Point& p : face.landmarks5) {
        cv::circle(canvas, ToPixel(p), thickness + 1, lm5_color, cv::FILLED, cv::LINE_AA);
      }
      const std::string label = FaceLabel(face);
      if (label.empty()) continue;
      // One line per part, stacked in a block above the box (below it when
      // there is no room), kept inside the image horizontally so
      // that neighbouring faces' labels overlap less.
      const std::vector<std::string> lines = absl::StrSplit(label, " | ");
      int baseline = 0, width = 0, line_height = 0;
      for (const std::string& line : lines) {
        const cv::Size text = cv::getTextSize(line, font, font_scale, thickness, &baseline);
        width = std::max(width, text.width);
        line_height = std::max(line_height, text.height + baseline + thickness);
      }
      const int block = line_height * static_cast<int>(lines.size());
      int top = tl.y - thickness - block;
      if (top < 0) top = std::min(br.y + thickness, std::max(0, canvas.rows - block));
      const int left = std::max(0, std::min(tl.x, canvas.cols - width));
      cv::rectangle(canvas, cv::Point(left, top), cv::Point(left + width, top + block), box_color,
                    cv::FILLED);
      for (size_t i = 0; i < lines.size(); ++i) {
        const cv::Point origin(left, top + line_height * static_cast<int>(i + 1) - baseline);
        cv::putText(canvas, lines[i], origin, font, font_scale, cv::Scalar(0, 0, 0), thickness,
                    cv::LINE_AA);
      }
    }
    return EncodeRgbToJpeg(canvas, 90);
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("drawing the annotated image failed: ", e.what()));
  }
}

absl::StatusOr<std::string> FaceCropJpeg(const cv::Mat& rgb, const Box& box) {
  if (absl::Status s = CheckImage(rgb); !s.ok()) return s;
  const float x1 = std::floor(std::clamp(box.x1, 0.0f, static_cast<float>(rgb.cols)));
  const float y1 = std::floor(std::clamp(box.y1, 0.0f, static_cast<float>(rgb.rows)));
  const float x2 = std::ceil(std::clamp(box.x2, 0.0f, static_cast<float>(rgb.cols)));
  const float y2 = std::ceil(std::clamp(box.y2, 0.0f, static_cast<float>(rgb.rows)));
  if (!(x2 > x1) || !(y2 > y1)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "face box (%.1f, %.1f, %.1f, %.1f) does not overlap the %dx%d image", box.x1, box.y1,
        box.x2, box.y2, rgb.cols, rgb.rows));
  }
  const cv::Rect r(static_cast<int>(x1), static_cast<int>(y1), static_cast<int>(x2 - x1),
                   static_cast<int>(y2 - y1));
  return EncodeJpeg(rgb(r));
}

}  // namespace faceserve
