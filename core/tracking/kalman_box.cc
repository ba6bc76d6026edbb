#include "core/tracking/kalman_box.h"

#include <algorithm>

#include <opencv2/core.hpp>  // Matx::inv

namespace faceserve {
namespace {

// ByteTrack's noise weights (per frame, relative to the box height).
constexpr double kPositionWeight = 1.0 / 20;
constexpr double kVelocityWeight = 1.0 / 160;

cv::Matx<double, 4, 1> Measurement(const Box& b) {
  const double h = std::max(1e-3f, b.height());
  return {(b.x1 + b.x2) / 2.0, (b.y1 + b.y2) / 2.0, b.width() / h, h};
}

template <int N>
cv::Matx<double, N, N> Diagonal(const double (&stds)[N]) {
  cv::Matx<double, N, N> m = cv::Matx<double, N, N>::zeros();
  for (int i = 0; i < N; ++i) m(i, i) = stds[i] * stds[i];
  return m;
}

}  // namespace

KalmanBox::KalmanBox(const Box& first) : x_(cv::Matx<double, 8, 1>::zeros()) {
  const cv::Matx<double, 4, 1> z = Measurement(first);
  for (int i = 0; i < 4; ++i) x_(i) = z(i);
  const double h = z(3), p = kPositionWeight * h, v = kVelocityWeight * h;
  p_ = Diagonal<8>({2 * p, 2 * p, 1e-2, 2 * p, 10 * v, 10 * v, 1e-5, 10 * v});
}

void KalmanBox::Predict(double frames) {
  if (frames <= 0) return;
  const double h = std::max(1e-3, x_(3)), p = kPositionWeight * h, v = kVelocityWeight * h;
  cv::Matx<double, 8, 8> f = cv::Matx<double, 8, 8>::eye();
  for (int i = 0; i < 4; ++i) f(i, i + 4) = frames;
  // Noise accumulates with the time that passed.
  const cv::Matx<double, 8, 8> q = Diagonal<8>({p, p, 1e-2, p, v, v, 1e-5, v}) * frames;
  x_ = f * x_;
  p_ = f * p_ * f.t() + q;
}

void KalmanBox::Update(const Box& measured) {
  const double h = std::max(1e-3, x_(3)), p = kPositionWeight * h;
  const cv::Matx<double, 4, 4> r = Diagonal<4>({p, p, 1e-1, p});
  cv::Matx<double, 4, 8> hm = cv::Matx<double, 4, 8>::zeros();  // measures the first 4
  for (int i = 0; i < 4; ++i) hm(i, i) = 1;
  const cv::Matx<double, 4, 4> s = hm * p_ * hm.t() + r;
  const cv::Matx<double, 8, 4> k = p_ * hm.t() * s.inv(cv::DECOMP_CHOLESKY);
  x_ = x_ + k * (Measurement(measured) - hm * x_);
  p_ = (cv::Matx<double, 8, 8>::eye() - k * hm) * p_;
}

Box KalmanBox::box() const {
  const double h = std::max(0.0, x_(3)), w = std::max(0.0, x_(2) * h);
  return Box{static_cast<float>(x_(0) - w / 2), static_cast<float>(x_(1) - h / 2),
             static_cast<float>(x_(0) + w / 2), static_cast<float>(x_(1) + h / 2)};
}

}  // namespace faceserve
