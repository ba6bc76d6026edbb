#include "client/synthetic_sequence.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/utilizer/annotator.h"

namespace faceserve::client {
namespace {

using Placement = SyntheticSequence::Placement;

constexpr int kW = SyntheticSequence::kWidth;
constexpr int kH = SyntheticSequence::kHeight;
constexpr int kN = SyntheticSequence::kFrames;
constexpr double kCutoutSide = 1.35;  // the cut-out's diameter, in face box sizes
constexpr int kPanelWidth = 230;
constexpr double kPanelSpeed = 4;  // pixels per frame, right to left

// A point of a person's path: at frame f the face's centre and width.
struct Key {
  int frame;
  double cx, cy, width;
};

// Fills frames [from, to] of `out` by linear interpolation along `keys`.
void FollowPath(const std::vector<Key>& keys, int photo, std::vector<Placement>* out) {
  for (size_t k = 0; k + 1 < keys.size(); ++k) {
    const Key& a = keys[k];
    const Key& b = keys[k + 1];
    for (int f = a.frame; f <= b.frame && f < kN; ++f) {
      const double t = b.frame == a.frame ? 0 : static_cast<double>(f - a.frame) / (b.frame - a.frame);
      Placement& p = (*out)[f];
      p.present = true;
      p.cx = a.cx + (b.cx - a.cx) * t;
      p.cy = a.cy + (b.cy - a.cy) * t;
      p.face_width = a.width + (b.width - a.width) * t;
      p.photo = photo;
      p.speed = std::hypot(b.cx - a.cx, b.cy - a.cy) / std::max(1, b.frame - a.frame);
    }
  }
}

// The face box of a placement (unclipped).
Box FaceBox(const FacePhoto& photo, const Placement& p) {
  const double aspect = (photo.face.y2 - photo.face.y1) / (photo.face.x2 - photo.face.x1);
  const double h = p.face_width * aspect;
  return Box{static_cast<float>(p.cx - p.face_width / 2), static_cast<float>(p.cy - h / 2),
             static_cast<float>(p.cx + p.face_width / 2), static_cast<float>(p.cy + h / 2)};
}

// The cut-out's radius in the frame.
double CutoutRadius(const FacePhoto& photo, const Placement& p) {
  const double fw = photo.face.x2 - photo.face.x1, fh = photo.face.y2 - photo.face.y1;
  return kCutoutSide * std::max(fw, fh) * (p.face_width / fw) / 2;
}

cv::Mat CoverResize(const cv::Mat& rgb, int width, int height) {
  const double scale = std::max(static_cast<double>(width) / rgb.cols,
                                static_cast<double>(height) / rgb.rows);
  cv::Mat resized;
  cv::resize(rgb, resized, cv::Size(std::max(width, static_cast<int>(rgb.cols * scale + 0.5)),
                                    std::max(height, static_cast<int>(rgb.rows * scale + 0.5))),
             0, 0, cv::INTER_AREA);
  const int x = (resized.cols - width) / 2, y = (resized.rows - height) / 2;
  return resized(cv::Rect(x, y, width, height)).clone();
}

// Longest run of consecutive frames where pred(f) holds.
template <typename Pred>
int LongestRun(Pred pred, int* runs_of_10 = nullptr) {
  int best = 0, run = 0;
  for (int f = 0; f <= kN; ++f) {
    if (f < kN && pred(f)) {
      ++run;
    } else {
      if (runs_of_10 != nullptr && run >= 10) ++*runs_of_10;
      best = std::max(best, run);
      run = 0;
    }
  }
  return best;
}

// Draws the cut-out of `photo` at `p` onto `frame`, blurred along its motion.
void DrawCutout(const FacePhoto& photo, const Placement& p, double dx, double dy, cv::Mat* frame) {
  const double fw = photo.face.x2 - photo.face.x1;
  const double k = p.face_width / fw;
  const double radius = CutoutRadius(photo, p);
  const double pcx = (photo.face.x1 + photo.face.x2) / 2, pcy = (photo.face.y1 + photo.face.y2) / 2;
  const int x0 = static_cast<int>(std::floor(p.cx - radius)) - 2;
  const int y0 = static_cast<int>(std::floor(p.cy - radius)) - 2;
  const int side = static_cast<int>(std::ceil(2 * radius)) + 4;
  // Photo -> patch: scale by k about the face's centre, which lands at (cx, cy).
  const cv::Matx23d m(k, 0, p.cx - x0 - k * pcx, 0, k, p.cy - y0 - k * pcy);
  cv::Mat patch;
  cv::warpAffine(photo.rgb, patch, m, cv::Size(side, side), cv::INTER_AREA, cv::BORDER_REPLICATE);
  cv::Mat alpha(side, side, CV_32F);
  const double feather = std::max(2.0, radius * 0.12);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      const double d = std::hypot(x + x0 + 0.5 - p.cx, y + y0 + 0.5 - p.cy);
      alpha.at<float>(y, x) = static_cast<float>(std::clamp((radius - d) / feather + 0.5, 0.0, 1.0));
    }
  }
  // Motion blur: a line kernel along the motion, half a frame's travel long.
  const int length = static_cast<int>(std::lround(p.speed * 0.5));
  if (length >= 2) {
    const int n = length | 1;
    cv::Mat kernel = cv::Mat::zeros(n, n, CV_32F);
    const double norm = std::max(1e-9, std::hypot(dx, dy));
    const cv::Point c(n / 2, n / 2);
    cv::line(kernel, c - cv::Point(static_cast<int>(dx / norm * n / 2), static_cast<int>(dy / norm * n / 2)),
             c + cv::Point(static_cast<int>(dx / norm * n / 2), static_cast<int>(dy / norm * n / 2)),
             cv::Scalar(1));
    kernel /= cv::sum(kernel)[0];
    cv::filter2D(patch, patch, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_REPLICATE);
    cv::filter2D(alpha, alpha, -1, kernel, cv::Point(-1, -1), 0, cv::BORDER_CONSTANT);
  }
  const cv::Rect dst = cv::Rect(x0, y0, side, side) & cv::Rect(0, 0, kW, kH);
  for (int y = dst.y; y < dst.y + dst.height; ++y) {
    cv::Vec3b* out = frame->ptr<cv::Vec3b>(y);
    const cv::Vec3b* in = patch.ptr<cv::Vec3b>(y - y0);
    const float* a = alpha.ptr<float>(y - y0);
    for (int x = dst.x; x < dst.x + dst.width; ++x) {
      const float w = a[x - x0];
      if (w <= 0) continue;
      for (int c = 0; c < 3; ++c) {
        out[x][c] = cv::saturate_cast<uchar>(out[x][c] * (1 - w) + in[x - x0][c] * w);
      }
    }
  }
}

}  // namespace

absl::StatusOr<SyntheticSequence> SyntheticSequence::Make(const std::vector<PersonPhotos>& people,
                                                          const std::vector<cv::Mat>& backgrounds,
                                                          uint64_t seed, int index) {
  std::vector<const PersonPhotos*> usable;
  for (const PersonPhotos& p : people) {
    if (p.photos.size() >= 2) usable.push_back(&p);
  }
  if (usable.size() < 3) {
    return absl::InvalidArgumentError("a sequence needs 3 people with 2 face photos each");
  }
  if (backgrounds.empty()) return absl::InvalidArgumentError("a sequence needs a background photo");
  std::mt19937_64 rng(seed * 1000003ull + static_cast<uint64_t>(index));
  const auto uniform = [&rng](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const auto pick = [&rng](size_t n) {
    return static_cast<size_t>(std::uniform_int_distribution<size_t>(0, n - 1)(rng));
  };

  // The jitter below keeps every property; a draw that still misses one is
  // drawn again (a few times at most), then reported as a bug.
  std::string last;
  int last_crossing = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    SyntheticSequence s;
    std::shuffle(usable.begin(), usable.end(), rng);
    const size_t bg = pick(backgrounds.size());
    s.background_ = CoverResize(backgrounds[bg], kW, kH);
    cv::Mat panel_source = backgrounds[(bg + 1) % backgrounds.size()];
    cv::flip(panel_source, panel_source, 1);
    s.panel_ = CoverResize(panel_source, kPanelWidth, kH);
    s.panel_width_ = kPanelWidth;

    // A: crosses B, leaves to the right, comes back 3 s later in another
    // photo and crosses B again. B: crosses A, walks back. C: far and small
    // at first, walks towards the camera (3.3x wider), passes behind the panel.
    const double size = 95 * uniform(0.92, 1.08);
    const double cy = 200 + uniform(-12, 12);
    const double cy_b = cy + uniform(-3, 3);
    const double size_b = size * uniform(0.97, 1.03);
    const double c_start_x = 560 + uniform(-10, 10);
    const double c_end_width = 150 * uniform(1.0, 1.05);
    s.people_.resize(3);
    for (int i = 0; i < 3; ++i) {
      s.people_[i].id = i + 1;
      s.people_[i].photos = usable[i];
      s.people_[i].frames.assign(kN, Placement{});
    }
    const size_t a_photo = pick(usable[0]->photos.size());
    const size_t a_return = (a_photo + 1 + pick(usable[0]->photos.size() - 1)) % usable[0]->photos.size();
    FollowPath({{0, 140, cy, size}, {90, 365, cy, size}, {105, 760, cy, size}},
               static_cast<int>(a_photo), &s.people_[0].frames);
    FollowPath({{160, 760, cy, size}, {kN - 1, 404, cy, size}}, static_cast<int>(a_return),
               &s.people_[0].frames);
    FollowPath({{0, 500, cy_b, size_b}, {90, 275, cy_b, size_b}, {kN - 1, 460, cy_b, size_b}},
               static_cast<int>(pick(usable[1]->photos.size())), &s.people_[1].frames);
    FollowPath({{0, c_start_x, 150, 45}, {kN - 1, 470, 370, c_end_width}},
               static_cast<int>(pick(usable[2]->photos.size())), &s.people_[2].frames);
    const double c_mid_x = s.people_[2].frames[135].cx;
    s.panel_x_.resize(kN);
    for (int f = 0; f < kN; ++f) s.panel_x_[f] = c_mid_x + kPanelSpeed * (135 - f);

    // The facts, from the geometry.
    SequenceFacts facts;
    s.truths_.resize(kN);
    for (int f = 0; f < kN; ++f) s.truths_[f] = s.Truths(f);
    const std::vector<std::vector<SequenceTruth>>& truths = s.truths_;
    const auto box_of = [&](int f, int64_t id, Box* box) {
      for (const SequenceTruth& t : truths[f]) {
        if (t.id == id) {
          *box = t.box;
          return true;
        }
      }
      return false;
    };
    for (int64_t a = 1; a <= 3; ++a) {
      for (int64_t b = a + 1; b <= 3; ++b) {
        facts.longest_crossing_frames = std::max(
            facts.longest_crossing_frames, LongestRun([&](int f) {
              // The faces' places, the one behind hidden or not.
              const Placement& pa = s.people_[a - 1].frames[f];
              const Placement& pb = s.people_[b - 1].frames[f];
              if (!pa.present || !pb.present) return false;
              const Box ba = FaceBox(s.people_[a - 1].photos->photos[pa.photo], pa);
              const Box bb = FaceBox(s.people_[b - 1].photos->photos[pb.photo], pb);
              return ba.x1 >= 0 && ba.x2 <= kW && bb.x1 >= 0 && bb.x2 <= kW &&
                     IoU(ba, bb) >= 0.5f;
            }, &facts.crossings));
      }
    }
    for (const Person& p : s.people_) {
      const FacePhoto* photo = nullptr;
      facts.longest_full_occlusion_frames = std::max(
          facts.longest_full_occlusion_frames, LongestRun([&](int f) {
            const Placement& at = p.frames[f];
            if (!at.present) return false;
            photo = &p.photos->photos[at.photo];
            const Box box = FaceBox(*photo, at);
            const bool inside = box.x1 >= 0 && box.y1 >= 0 && box.x2 <= kW && box.y2 <= kH;
            Box unused;
            return inside && !box_of(f, p.id, &unused);
          }));
      double smallest = 1e9, largest = 0;
      for (const Placement& at : p.frames) {
        if (!at.present) continue;
        smallest = std::min(smallest, at.face_width);
        largest = std::max(largest, at.face_width);
      }
      facts.scale_change = std::max(facts.scale_change, largest / smallest);
    }
    // A's exit and return: the frames between its last and next sight.
    const Person& a = s.people_[0];
    int last_seen = -1, back = -1;
    for (int f = 0; f < kN; ++f) {
      Box unused;
      const bool seen = a.frames[f].present &&
                        [&] {
                          const Box box = FaceBox(a.photos->photos[a.frames[f].photo], a.frames[f]);
                          return box.x1 < kW && box.x2 > 0;
                        }();
      if (seen && back < 0 && last_seen >= 0 && f > last_seen + 1) back = f;
      if (seen && back < 0) last_seen = f;
    }
    if (back > 0) {
      facts.return_gap_frames = back - last_seen - 1;
      facts.returned_with_other_photo = a.frames[back].photo != a.frames[last_seen].photo;
    }
    s.facts_ = facts;
    const bool holds = facts.crossings >= 2 && facts.longest_crossing_frames >= 10 &&
                       facts.longest_full_occlusion_frames >= kFps &&
                       facts.return_gap_frames >= 2 * kFps && facts.returned_with_other_photo &&
                       facts.scale_change >= 3;
    s.description_ = absl::StrFormat(
        "sequence %d (seed %d): %s, %s, %s; %d crossings, %d frames fully hidden, back after %d "
        "frames, %.1fx scale",
        index, seed, usable[0]->name, usable[1]->name, usable[2]->name, facts.crossings,
        facts.longest_full_occlusion_frames, facts.return_gap_frames, facts.scale_change);
    if (holds) return s;
    last = s.description_;
    last_crossing = facts.longest_crossing_frames;
  }
  return absl::InternalError(absl::StrCat("no draw held every property of the set; the last: ",
                                          last, " (longest crossing ",
                                          last_crossing, ")"));
}

std::vector<SequenceTruth> SyntheticSequence::Truths(int f) const {
  // Who is on top of each pixel: people back to front, then the panel.
  cv::Mat owner(kH, kW, CV_8U, cv::Scalar(0));
  for (const Person& p : people_) {
    const Placement& at = p.frames[f];
    if (!at.present) continue;
    const double r = CutoutRadius(p.photos->photos[at.photo], at);
    cv::circle(owner, cv::Point(static_cast<int>(std::lround(at.cx)), static_cast<int>(std::lround(at.cy))),
               static_cast<int>(std::lround(r)), cv::Scalar(static_cast<double>(p.id)), cv::FILLED);
  }
  const int px = static_cast<int>(std::lround(panel_x_[f] - panel_width_ / 2.0));
  const cv::Rect panel = cv::Rect(px, 0, panel_width_, kH) & cv::Rect(0, 0, kW, kH);
  if (panel.area() > 0) owner(panel).setTo(cv::Scalar(255));
  std::vector<SequenceTruth> out;
  for (const Person& p : people_) {
    const Placement& at = p.frames[f];
    if (!at.present) continue;
    const Box box = FaceBox(p.photos->photos[at.photo], at);
    const double area = static_cast<double>(box.x2 - box.x1) * (box.y2 - box.y1);
    const cv::Rect r = cv::Rect(cv::Point(static_cast<int>(std::lround(box.x1)), static_cast<int>(std::lround(box.y1))),
                                cv::Point(static_cast<int>(std::lround(box.x2)), static_cast<int>(std::lround(box.y2)))) &
                       cv::Rect(0, 0, kW, kH);
    if (r.area() == 0) continue;
    const double visible =
        static_cast<double>(cv::countNonZero(owner(r) == static_cast<int>(p.id))) / area;
    if (visible <= 0) continue;
    SequenceTruth t;
    t.id = p.id;
    t.box = Box{std::max(0.f, box.x1), std::max(0.f, box.y1), std::min<float>(kW, box.x2),
                std::min<float>(kH, box.y2)};
    t.visibility = std::min(1.0, visible);
    out.push_back(t);
  }
  return out;
}

SequenceFrame SyntheticSequence::Render(int f) const {
  cv::Mat frame = background_.clone();
  for (const Person& p : people_) {
    const Placement& at = p.frames[f];
    if (!at.present) continue;
    const Placement& before = p.frames[std::max(0, f - 1)];
    const Placement& after = p.frames[std::min(kN - 1, f + 1)];
    DrawCutout(p.photos->photos[at.photo], at, after.cx - before.cx, after.cy - before.cy, &frame);
  }
  const int px = static_cast<int>(std::lround(panel_x_[f] - panel_width_ / 2.0));
  const cv::Rect panel = cv::Rect(px, 0, panel_width_, kH) & cv::Rect(0, 0, kW, kH);
  if (panel.area() > 0) {
    panel_(cv::Rect(panel.x - px, 0, panel.width, kH)).copyTo(frame(panel));
  }
  SequenceFrame out;
  absl::StatusOr<std::string> jpeg = EncodeJpeg(frame, 60);
  if (jpeg.ok()) out.jpeg = *std::move(jpeg);
  out.truths = truths_[f];
  return out;
}

}  // namespace faceserve::client
