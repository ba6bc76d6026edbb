#include "core/unifier/face_crop.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/letterbox.h"
#include "core/unifier/tf_resize.h"

namespace faceserve {
namespace {

// dlib's mean face (dlib/image_transforms/interpolation.h,
// get_face_chip_details): average positions of the 68-point landmarks 17..67
// in a unit square. Boost Software License; numbers only.
constexpr double kMeanFaceX[51] = {
    0.000213256, 0.0752622, 0.18113,  0.29077,  0.393397, 0.586856, 0.689483, 0.799124,
    0.904991,    0.98004,   0.490127, 0.490127, 0.490127, 0.490127, 0.36688,  0.426036,
    0.490127,    0.554217,  0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743,    0.645647,  0.714428, 0.793132, 0.858516, 0.79751,  0.719335, 0.254149,
    0.340985,    0.428858,  0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127,    0.423532,  0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364,    0.490127,  0.42689};
constexpr double kMeanFaceY[51] = {
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482,
    0.038915, 0.106454, 0.203352,  0.307009,  0.409805,  0.515625,  0.587326,  0.609345,
    0.628106, 0.609345, 0.587326,  0.216423,  0.178758,  0.179852,  0.231733,  0.245099,
    0.244077, 0.231733, 0.179852,  0.178758,  0.216423,  0.244077,  0.245099,  0.780233,
    0.745405, 0.727388, 0.742578,  0.727388,  0.745405,  0.780233,  0.864805,  0.902192,
    0.909281, 0.902192, 0.864805,  0.784792,  0.778746,  0.785343,  0.778746,  0.784792,
    0.824182, 0.831803, 0.824182};

// Mean-face point of 68-landmark index i (17..67), unit square.
cv::Point2d MeanFace(int i) { return {kMeanFaceX[i - 17], kMeanFaceY[i - 17]}; }

Point ToChip(cv::Point2d m, int size, float padding) {
  const double k = (size - 1) / (2.0 * padding + 1.0);
  return Point{static_cast<float>((padding + m.x) * k), static_cast<float>((padding + m.y) * k)};
}

absl::Status CheckImage(const cv::Mat& rgb, int size) {
  if (rgb.empty() || rgb.channels() != 3) {
    return absl::InvalidArgumentError("crop source must be a non-empty 3-channel image");
  }
  if (size <= 0) return absl::InvalidArgumentError(absl::StrCat("crop size ", size, " <= 0"));
  return absl::OkStatus();
}

bool Finite(const Box& b) {
  return std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) &&
         std::isfinite(b.y2);
}

// The arguments of the crops around a scaled box: a 3-channel image, a
// positive size, a finite non-empty box and a positive scale.
absl::Status CheckScaledBox(const cv::Mat& rgb, const Box& box, int size, float scale) {
  if (absl::Status s = CheckImage(rgb, size); !s.ok()) return s;
  if (!Finite(box) || !std::isfinite(scale) || scale <= 0 || box.width() <= 0 ||
      box.height() <= 0) {
    return absl::InvalidArgumentError("face box must be finite and non-empty, scale positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<FaceCrop> AlignTo(const cv::Mat& rgb, const std::vector<Point>& chip_points,
                                 const std::vector<Point>& image_points, int size) {
  if (absl::Status s = CheckImage(rgb, size); !s.ok()) return s;
  for (const Point& p : image_points) {
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
      return absl::InvalidArgumentError("landmarks are not finite");
    }
  }
  const cv::Matx23d t = EstimateSimilarity(chip_points, image_points);
  const double scale = std::hypot(t(0, 0), t(1, 0));  // image px per chip px
  if (!(scale > 1e-6) || !std::isfinite(scale)) {
    return absl::InvalidArgumentError("landmarks are degenerate (all at one point)");
  }
  // dlib's extract_image_chips pyramid: halve while the chip would still be
  // more than 2x smaller than its source rectangle.
  const double dlib_scale = scale * (size - 1) / size;
  int levels = 0;
  while (dlib_scale / std::ldexp(1.0, levels + 1) > 1.0 && levels < 16) ++levels;

  cv::Matx23d chip_to_src = t;
  cv::Mat src = rgb;
  try {
    if (levels > 0) {
      // Only the chip's neighbourhood is filtered.
      double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
      for (cv::Point2d c : {cv::Point2d(0, 0), cv::Point2d(size - 1, 0),
                            cv::Point2d(0, size - 1), cv::Point2d(size - 1, size - 1)}) {
        const double x = t(0, 0) * c.x + t(0, 1) * c.y + t(0, 2);
        const double y = t(1, 0) * c.x + t(1, 1) * c.y + t(1, 2);
        x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
      }
      const double margin = 4.0 * std::ldexp(1.0, levels);
      const int rx0 = static_cast<int>(std::max(0.0, std::floor(x0 - margin)));
      const int ry0 = static_cast<int>(std::max(0.0, std::floor(y0 - margin)));
      const int rx1 = static_cast<int>(std::min<double>(rgb.cols, std::ceil(x1 + margin)));
      const int ry1 = static_cast<int>(std::min<double>(rgb.rows, std::ceil(y1 + margin)));
      if (rx1 - rx0 >= 2 && ry1 - ry0 >= 2) {
        src = rgb(cv::Rect(rx0, ry0, rx1 - rx0, ry1 - ry0));
        int done = 0;
        for (; done < levels && src.cols >= 2 && src.rows >= 2; ++done) {
          cv::Mat down;
          cv::pyrDown(src, down);
          src = down;
        }
        const double k = std::ldexp(1.0, -done);
        chip_to_src = cv::Matx23d(t(0, 0) * k, t(0, 1) * k, (t(0, 2) - rx0) * k,  //
                                  t(1, 0) * k, t(1, 1) * k, (t(1, 2) - ry0) * k);
      }
    }
    cv::Mat chip;
    cv::warpAffine(src, chip, cv::Mat(chip_to_src), cv::Size(size, size),
                   cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, cv::Scalar());
    FaceCrop crop;
    chip.convertTo(crop.rgb, CV_32F);
    crop.crop_to_image = cv::Matx23f(t);
    return crop;
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("face alignment failed: ", e.what()));
  }
}

Point Mean(const std::vector<Point>& lm, int from, int to) {
  double x = 0, y = 0;
  for (int i = from; i < to; ++i) x += lm[i].x, y += lm[i].y;
  return Point{static_cast<float>(x / (to - from)), static_cast<float>(y / (to - from))};
}

}  // namespace

absl::StatusOr<FaceCrop> CropBoxToSquare(const cv::Mat& rgb, const Box& box, int size,
                                         float scale) {
  if (absl::Status s = CheckImage(rgb, size); !s.ok()) return s;
  if (!Finite(box) || !std::isfinite(scale) || scale <= 0) {
    return absl::InvalidArgumentError("face box or scale is not finite and positive");
  }
  const float cx = (box.x1 + box.x2) / 2, cy = (box.y1 + box.y2) / 2;
  const float bw = box.width() * scale, bh = box.height() * scale;
  const float bx = cx - bw / 2, by = cy - bh / 2;
  // Box.clipAtImageBorders: clip, then floor x, y, width and height.
  const float clipped_x = std::max(bx, 0.0f), clipped_y = std::max(by, 0.0f);
  const float cw = std::min(bx + bw - clipped_x, rgb.cols - clipped_x);
  const float ch = std::min(by + bh - clipped_y, rgb.rows - clipped_y);
  const int x = std::clamp(static_cast<int>(std::floor(std::min<float>(clipped_x, rgb.cols))), 0,
                           rgb.cols - 1);
  const int y = std::clamp(static_cast<int>(std::floor(std::min<float>(clipped_y, rgb.rows))), 0,
                           rgb.rows - 1);
  const int w = std::clamp(
      static_cast<int>(std::floor(std::clamp(cw, 0.0f, static_cast<float>(rgb.cols)))), 1,
      rgb.cols - x);
  const int h = std::clamp(
      static_cast<int>(std::floor(std::clamp(ch, 0.0f, static_cast<float>(rgb.rows)))), 1,
      rgb.rows - y);
  const Letterbox square = MakeLetterbox(w, h, /*center=*/true);
  FaceCrop crop;
  crop.rgb = ResampleTfRegion(rgb(cv::Rect(x, y, w, h)), square.left, square.top, square.side, square.side,
                      size, size);
  const float k = static_cast<float>(square.side) / size;
  crop.crop_to_image = cv::Matx23f(k, 0, static_cast<float>(x - square.left),  //
                                   0, k, static_cast<float>(y - square.top));
  return crop;
}

absl::StatusOr<FaceCrop> CropScaledBoxShifted(const cv::Mat& rgb, const Box& box, int size,
                                              float scale) {
  if (absl::Status s = CheckScaledBox(rgb, box, size, scale); !s.ok()) return s;
  // Silent-Face-Anti-Spoofing src/generate_patches.py CropImage._get_new_box.
  const double src_w = rgb.cols, src_h = rgb.rows;
  const double bw = box.width(), bh = box.height();
  const double s = std::min({(src_h - 1) / bh, (src_w - 1) / bw, static_cast<double>(scale)});
  const double nw = bw * s, nh = bh * s;
  const double cx = box.x1 + bw / 2, cy = box.y1 + bh / 2;
  double lx = cx - nw / 2, ly = cy - nh / 2, rx = cx + nw / 2, ry = cy + nh / 2;
  if (lx < 0) rx -= lx, lx = 0;
  if (ly < 0) ry -= ly, ly = 0;
  if (rx > src_w - 1) lx -= rx - src_w + 1, rx = src_w - 1;
  if (ry > src_h - 1) ly -= ry - src_h + 1, ry = src_h - 1;
  const int x0 = std::clamp(static_cast<int>(lx), 0, rgb.cols - 1);
  const int y0 = std::clamp(static_cast<int>(ly), 0, rgb.rows - 1);
  const int x1 = std::clamp(static_cast<int>(rx), x0, rgb.cols - 1);
  const int y1 = std::clamp(static_cast<int>(ry), y0, rgb.rows - 1);
  const int w = x1 - x0 + 1, h = y1 - y0 + 1;  // inclusive, as the Python slice
  FaceCrop crop;
  try {
    cv::Mat resized;
    cv::resize(rgb(cv::Rect(x0, y0, w, h)), resized, cv::Size(size, size), 0, 0,
               cv::INTER_LINEAR);
    resized.convertTo(crop.rgb, CV_32F);
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("crop failed: ", e.what()));
  }
  // cv::resize samples src = (dst + 0.5) * in / out - 0.5.
  const float sx = static_cast<float>(w) / size, sy = static_cast<float>(h) / size;
  crop.crop_to_image = cv::Matx23f(sx, 0, x0 + 0.5f * sx - 0.5f,  //
                                   0, sy, y0 + 0.5f * sy - 0.5f);
  return crop;
}

absl::StatusOr<FaceCrop> CropSquareBox(const cv::Mat& rgb, const Box& box, int size,
                                       float scale) {
  if (absl::Status s = CheckScaledBox(rgb, box, size, scale); !s.ok()) return s;
  const double side = std::max(box.width(), box.height()) * static_cast<double>(scale);
  const double cx = (box.x1 + box.x2) / 2.0, cy = (box.y1 + box.y2) / 2.0;
  // cropAndResize: crop pixel i samples the image at x0 + i * (side - 1) / (size - 1),
  // the square spanning pixel centres x0 .. x0 + side - 1.
  const double x0 = cx - side / 2, y0 = cy - side / 2;
  const double step = size > 1 ? (side - 1) / (size - 1) : 0.0;
  const cv::Matx23d crop_to_image(step, 0, x0, 0, step, y0);
  FaceCrop crop;
  try {
    // Only the square's part of the image (plus a pixel for the bilinear
    // neighbours) is converted to float; a square wholly outside is all zeros.
    const int rx0 = std::max(0, static_cast<int>(std::floor(x0)) - 1);
    const int ry0 = std::max(0, static_cast<int>(std::floor(y0)) - 1);
    const int rx1 = std::min(rgb.cols, static_cast<int>(std::ceil(x0 + side)) + 1);
    const int ry1 = std::min(rgb.rows, static_cast<int>(std::ceil(y0 + side)) + 1);
    if (rx1 <= rx0 || ry1 <= ry0) {
      crop.rgb = cv::Mat::zeros(size, size, CV_32FC3);
    } else {
      cv::Mat roi;
      rgb(cv::Rect(rx0, ry0, rx1 - rx0, ry1 - ry0)).convertTo(roi, CV_32F);
      const cv::Matx23d crop_to_roi(step, 0, x0 - rx0, 0, step, y0 - ry0);
      cv::warpAffine(roi, crop.rgb, cv::Mat(crop_to_roi), cv::Size(size, size),
                     cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT,
                     cv::Scalar::all(0));
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(absl::StrCat("crop failed: ", e.what()));
  }
  crop.crop_to_image = cv::Matx23f(crop_to_image);
  return crop;
}

absl::StatusOr<FaceCrop> ResizeWholeImage(const cv::Mat& rgb, int size) {
  if (absl::Status s = CheckImage(rgb, size); !s.ok()) return s;
  FaceCrop crop;
  crop.rgb = ResizeBilinearLikeTf(rgb, size, size);
  crop.crop_to_image = cv::Matx23f(static_cast<float>(rgb.cols) / size, 0, 0,  //
                                   0, static_cast<float>(rgb.rows) / size, 0);
  return crop;
}

Box BoxFromLandmarks68(const std::vector<Point>& lm) {
  float x0 = lm[0].x, y0 = lm[0].y, x1 = lm[0].x, y1 = lm[0].y;
  for (const Point& p : lm) {
    x0 = std::min(x0, p.x), y0 = std::min(y0, p.y);
    x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
  }
  // minBbox(...).pad(width * 0.2, height * 0.2): half of the pad each side.
  const float px = (x1 - x0) * 0.2f / 2, py = (y1 - y0) * 0.2f / 2;
  return Box{x0 - px, y0 - py, x1 + px, y1 + py};
}

Box DlibBoxFromLandmarks68(const std::vector<Point>& lm, int image_width, int image_height) {
  const Point le = Mean(lm, 36, 42), re = Mean(lm, 42, 48), mouth = Mean(lm, 48, 68);
  const double d = (std::hypot(mouth.x - le.x, mouth.y - le.y) +
                    std::hypot(mouth.x - re.x, mouth.y - re.y)) / 2;
  const double size = std::floor(d / 0.45);
  const double rx = (le.x + re.x + mouth.x) / 3.0, ry = (le.y + re.y + mouth.y) / 3.0;
  const double x = std::floor(std::max(0.0, rx - 0.5 * size));
  const double y = std::floor(std::max(0.0, ry - 0.43 * size));
  const double w = std::min(size, image_width + x), h = std::min(size, image_height + y);
  return Box{static_cast<float>(x), static_cast<float>(y), static_cast<float>(x + w),
             static_cast<float>(y + h)};
}

std::vector<Point> Landmarks5From68(const std::vector<Point>& lm68) {
  return {Mean(lm68, 36, 42), Mean(lm68, 42, 48), lm68[30], lm68[48], lm68[54]};
}

std::vector<Point> SimilarityTemplate5(int size, float padding) {
  auto mean = [](int from, int to) {
    cv::Point2d m(0, 0);
    for (int i = from; i < to; ++i) m += MeanFace(i);
    return m / (to - from);
  };
  return {ToChip(mean(36, 42), size, padding), ToChip(mean(42, 48), size, padding),
          ToChip(MeanFace(30), size, padding), ToChip(MeanFace(48), size, padding),
          ToChip(MeanFace(54), size, padding)};
}

std::vector<Point> SimilarityTemplate68(int size, float padding, std::vector<int>* indices) {
  std::vector<Point> out;
  indices->clear();
  for (int i = 27; i < 68; ++i) {
    if ((55 <= i && i <= 59) || (65 <= i && i <= 67)) continue;  // lower lip, as dlib
    indices->push_back(i);
    out.push_back(ToChip(MeanFace(i), size, padding));
  }
  return out;
}

cv::Matx23d EstimateSimilarity(const std::vector<Point>& from, const std::vector<Point>& to) {
  const size_t n = std::min(from.size(), to.size());
  double fx = 0, fy = 0, tx = 0, ty = 0;
  for (size_t i = 0; i < n; ++i) fx += from[i].x, fy += from[i].y, tx += to[i].x, ty += to[i].y;
  fx /= n, fy /= n, tx /= n, ty /= n;
  double a = 0, b = 0, norm = 0;
  for (size_t i = 0; i < n; ++i) {
    const double px = from[i].x - fx, py = from[i].y - fy;
    const double qx = to[i].x - tx, qy = to[i].y - ty;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
    norm += px * px + py * py;
  }
  const double c = norm > 0 ? a / norm : 0, s = norm > 0 ? b / norm : 0;  // scale*cos, scale*sin
  return cv::Matx23d(c, -s, tx - (c * fx - s * fy),  //
                     s, c, ty - (s * fx + c * fy));
}

absl::StatusOr<FaceCrop> AlignBySimilarity(const cv::Mat& rgb,
                                           const std::vector<Point>& landmarks5, int size,
                                           float padding) {
  if (landmarks5.size() != 5) {
    return absl::InvalidArgumentError(
        absl::StrCat("similarity alignment needs 5 landmarks, got ", landmarks5.size()));
  }
  return AlignTo(rgb, SimilarityTemplate5(size, padding), landmarks5, size);
}

absl::StatusOr<FaceCrop> AlignBySimilarity68(const cv::Mat& rgb,
                                             const std::vector<Point>& landmarks68, int size,
                                             float padding) {
  if (landmarks68.size() != 68) {
    return absl::InvalidArgumentError(
        absl::StrCat("similarity alignment needs 68 landmarks, got ", landmarks68.size()));
  }
  std::vector<int> indices;
  const std::vector<Point> chip = SimilarityTemplate68(size, padding, &indices);
  std::vector<Point> image;
  for (int i : indices) image.push_back(landmarks68[i]);
  return AlignTo(rgb, chip, image, size);
}

}  // namespace faceserve
