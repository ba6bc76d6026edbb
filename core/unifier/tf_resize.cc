// The tf.image.resizeBilinear resampler every model input is made with, and
// the detector's input built on it (see tf_resize.h). Separate from the face
// crops because it is the hot loop: SSE2 where available, bit-identical to
// the direct 4-tap formula.
#include "core/unifier/tf_resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/letterbox.h"

namespace faceserve {
namespace {

// One output coordinate's two source taps along an axis.
struct Tap {
  int i0, i1;  // source indices, -1 when in the padding
  float frac;
};

// Taps of `out` output pixels sampling a `padded` axis (tf: no half-pixel
// offset, the second tap clamped) whose source starts at `offset` and has
// `limit` pixels.
std::vector<Tap> TapsAlong(int out, int padded, int offset, int limit) {
  std::vector<Tap> t(out);
  const double ratio = static_cast<double>(padded) / out;
  auto in = [&](int p) { return p - offset >= 0 && p - offset < limit ? p - offset : -1; };
  for (int o = 0; o < out; ++o) {
    const double f = o * ratio;
    const int p0 = static_cast<int>(std::floor(f));
    const int p1 = std::min(p0 + 1, padded - 1);
    t[o] = Tap{in(p0), in(p1), static_cast<float>(f - p0)};
  }
  return t;
}

// The horizontal taps of one resample: per output pixel, the two source
// pixels' element offsets (tap index * channels) and the blend fraction.
// Pixels [lo, hi) have both taps inside the source; the others, at the edges
// of a padded canvas, have one or both in the zero padding.
struct RowTaps {
  std::vector<Tap> taps;
  std::vector<size_t> off0, off1;  // i0 * cn, i1 * cn (0 where the tap is padding)
  std::vector<float> frac;
  int lo = 0, hi = 0;
  // [lo, wide_hi): interior pixels that may also read one element past their
  // second tap and write one float past their own (see LerpRow).
  int wide_hi = 0;
};

// `limit`: source pixels per row.
RowTaps MakeRowTaps(std::vector<Tap> taps, int cn, int limit) {
  RowTaps r;
  const int w = static_cast<int>(taps.size());
  r.off0.resize(w);
  r.off1.resize(w);
  r.frac.resize(w);
  for (int x = 0; x < w; ++x) {
    const Tap& t = taps[x];
    r.off0[x] = t.i0 >= 0 ? static_cast<size_t>(t.i0) * cn : 0;
    r.off1[x] = t.i1 >= 0 ? static_cast<size_t>(t.i1) * cn : 0;
    r.frac[x] = t.frac;
  }
  // Taps move right monotonically, so the both-inside pixels form one run.
  r.lo = 0;
  while (r.lo < w && (taps[r.lo].i0 < 0 || taps[r.lo].i1 < 0)) ++r.lo;
  r.hi = r.lo;
  while (r.hi < w && taps[r.hi].i0 >= 0 && taps[r.hi].i1 >= 0) ++r.hi;
  r.wide_hi = r.lo;
  while (r.wide_hi < r.hi && r.wide_hi < w - 1 && taps[r.wide_hi].i1 < limit - 1) ++r.wide_hi;
  r.taps = std::move(taps);
  return r;
}

// The horizontal pass over one source row (nullptr: a padding row, all
// zeros) into `out` (taps.size() pixels of cn floats). The same float
// operations as the 4-tap formula, l + (r - l) * frac, with 0 for padding.
template <typename T, int kCn>
void LerpRow(const T* row, const RowTaps& xs, int runtime_cn, float* out) {
  const int cn = kCn > 0 ? kCn : runtime_cn;
  const int w = static_cast<int>(xs.taps.size());
  if (row == nullptr) {
    std::fill(out, out + static_cast<size_t>(w) * cn, 0.0f);
    return;
  }
  auto edge = [&](int x) {
    const Tap& t = xs.taps[x];
    float* o = out + static_cast<size_t>(x) * cn;
    for (int c = 0; c < cn; ++c) {
      const float l = t.i0 >= 0 ? static_cast<float>(row[xs.off0[x] + c]) : 0.0f;
      const float r = t.i1 >= 0 ? static_cast<float>(row[xs.off1[x] + c]) : 0.0f;
      o[c] = l + (r - l) * t.frac;
    }
  };
  for (int x = 0; x < xs.lo; ++x) edge(x);
  // The interior: no padding tests, offsets precomputed.
  const size_t* off0 = xs.off0.data();
  const size_t* off1 = xs.off1.data();
  const float* frac = xs.frac.data();
  int x = xs.lo;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, uint8_t> && kCn == 3) {
    // RGB bytes four lanes at a time: the fourth byte read is the next
    // source pixel's (the taps end before the row's last pixel), the fourth
    // float written is the next output pixel's, overwritten next. Exact
    // conversions and the same sub, mul, add as below: bit-identical.
    const __m128i zero = _mm_setzero_si128();
    auto load4 = [&](const uint8_t* p) {
      int32_t v;
      std::memcpy(&v, p, 4);
      const __m128i b = _mm_cvtsi32_si128(v);
      return _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(b, zero), zero));
    };
    for (; x < xs.wide_hi; ++x) {
      const __m128 l = load4(row + off0[x]);
      const __m128 r = load4(row + off1[x]);
      const __m128 v = _mm_add_ps(l, _mm_mul_ps(_mm_sub_ps(r, l), _mm_set1_ps(frac[x])));
      _mm_storeu_ps(out + static_cast<size_t>(x) * 3, v);
    }
  }
#endif
  for (; x < xs.hi; ++x) {
    const T* p0 = row + off0[x];
    const T* p1 = row + off1[x];
    const float f = frac[x];
    float* o = out + static_cast<size_t>(x) * cn;
    for (int c = 0; c < cn; ++c) {
      const float l = static_cast<float>(p0[c]);
      o[c] = l + (static_cast<float>(p1[c]) - l) * f;
    }
  }
  for (int x = xs.hi; x < w; ++x) edge(x);
}

// Where the resampled values go: value (x, y, c) lands at
// data[y * row + x * pixel + c * channel] (HWC image or CHW tensor).
struct OutputLayout {
  float* data;
  size_t row, pixel, channel;
};

// Samples the source placed at (left, top) inside a zero canvas of pw x ph,
// resized tf-style to w x h. Separable: each output row blends two source
// rows interpolated horizontally first (the same operations in the same
// order as the direct 4-tap formula, so the values are bit-identical); a
// source row shared by consecutive output rows (upsampling) is interpolated
// once. T: source element type; kCn: channels (0: known at run time only).
template <typename T, int kCn>
void ResampleTf(const cv::Mat& src, int left, int top, int pw, int ph, int w, int h,
                const OutputLayout& dst) {
  const int cn = kCn > 0 ? kCn : src.channels();
  const RowTaps xs = MakeRowTaps(TapsAlong(w, pw, left, src.cols), cn, src.cols);
  const std::vector<Tap> ys = TapsAlong(h, ph, top, src.rows);
  const size_t row_len = static_cast<size_t>(w) * cn;
  std::vector<float> buf0(row_len), buf1(row_len);
  int have0 = -2, have1 = -2;  // source row in buf0 / buf1 (-1: padding; -2: none)
  auto lerp_into = [&](int i, std::vector<float>* buf, int* have) {
    if (*have == i) return;
    LerpRow<T, kCn>(i >= 0 ? src.ptr<T>(i) : nullptr, xs, cn, buf->data());
    *have = i;
  };
  for (int y = 0; y < h; ++y) {
    const Tap& ty = ys[y];
    if (have1 == ty.i0 && have1 != -2) {  // moving down one row: reuse
      std::swap(buf0, buf1);
      std::swap(have0, have1);
    }
    lerp_into(ty.i0, &buf0, &have0);
    lerp_into(ty.i1, &buf1, &have1);
    const float fy = ty.frac;
    float* out_row = dst.data + static_cast<size_t>(y) * dst.row;
    for (int x = 0; x < w; ++x) {
      const float* t = buf0.data() + static_cast<size_t>(x) * cn;
      const float* b = buf1.data() + static_cast<size_t>(x) * cn;
      float* o = out_row + static_cast<size_t>(x) * dst.pixel;
      for (int c = 0; c < cn; ++c) o[c * dst.channel] = t[c] + (b[c] - t[c]) * fy;
    }
  }
}

template <typename T>
void ResampleAnyChannels(const cv::Mat& src, int left, int top, int pw, int ph, int w, int h,
                         const OutputLayout& dst) {
  switch (src.channels()) {
    case 1: return ResampleTf<T, 1>(src, left, top, pw, ph, w, h, dst);
    case 3: return ResampleTf<T, 3>(src, left, top, pw, ph, w, h, dst);
    default: return ResampleTf<T, 0>(src, left, top, pw, ph, w, h, dst);
  }
}

void ResampleInto(const cv::Mat& src, int left, int top, int pw, int ph, int w, int h,
                  const OutputLayout& dst) {
  if (src.depth() == CV_8U) {
    ResampleAnyChannels<uint8_t>(src, left, top, pw, ph, w, h, dst);
  } else if (src.depth() == CV_32F) {
    ResampleAnyChannels<float>(src, left, top, pw, ph, w, h, dst);
  } else {
    cv::Mat f;
    src.convertTo(f, CV_32F);
    ResampleAnyChannels<float>(f, left, top, pw, ph, w, h, dst);
  }
}

}  // namespace

cv::Mat ResampleTfRegion(const cv::Mat& src, int left, int top, int pw, int ph, int w, int h) {
  const int cn = src.channels();
  cv::Mat dst(h, w, CV_MAKETYPE(CV_32F, cn));
  ResampleInto(src, left, top, pw, ph, w, h,
               OutputLayout{dst.ptr<float>(), dst.step1(), static_cast<size_t>(cn), 1});
  return dst;
}

cv::Mat ResizeBilinearLikeTf(const cv::Mat& src, int width, int height) {
  return ResampleTfRegion(src, 0, 0, src.cols, src.rows, width, height);
}

cv::Mat PadToSquare(const cv::Mat& src, bool center) {
  const Letterbox box = MakeLetterbox(src.cols, src.rows, center);
  cv::Mat out = cv::Mat::zeros(box.side, box.side, CV_MAKETYPE(CV_32F, src.channels()));
  src.convertTo(out(cv::Rect(box.left, box.top, src.cols, src.rows)), CV_32F);
  return out;
}

Tensor LetterboxToTensor(const cv::Mat& rgb, int size, bool center,
                         float* image_to_input_scale, float canvas_scale) {
  const Letterbox box = MakeLetterbox(rgb.cols, rgb.rows, center, canvas_scale);
  if (image_to_input_scale != nullptr) {
    *image_to_input_scale = box.side > 0 ? static_cast<float>(size) / box.side : 0.0f;
  }
  if (rgb.empty() || size <= 0) return Tensor({3, std::max(size, 0), std::max(size, 0)});
  // Straight into the planar tensor: no HWC intermediate.
  const int cn = rgb.channels();
  Tensor t({cn, size, size});
  const size_t plane = static_cast<size_t>(size) * size;
  ResampleInto(rgb, box.left, box.top, box.side, box.side, size, size,
               OutputLayout{t.data.data(), static_cast<size_t>(size), 1, plane});
  return t;
}

Tensor ToTensorCHW(const cv::Mat& rgb) {
  cv::Mat f;
  if (rgb.depth() == CV_32F) {
    f = rgb;
  } else {
    rgb.convertTo(f, CV_32F);
  }
  const int h = f.rows, w = f.cols, cn = f.channels();
  Tensor t({cn, h, w});
  float* out = t.data.data();
  const size_t plane = static_cast<size_t>(h) * w;
  for (int y = 0; y < h; ++y) {
    const float* row = f.ptr<float>(y);
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < cn; ++c) out[c * plane + static_cast<size_t>(y) * w + x] = row[x * cn + c];
    }
  }
  return t;
}

}  // namespace faceserve
