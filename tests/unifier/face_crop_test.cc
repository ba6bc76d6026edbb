#include "core/unifier/face_crop.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "core/letterbox.h"

namespace faceserve {
namespace {

cv::Mat Row(std::vector<float> v) { return cv::Mat(v, true).reshape(1, 1); }

cv::Mat RandomRgb(int w, int h, int seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

Point Apply(const cv::Matx23f& m, Point p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

TEST(ResizeBilinearLikeTfTest, DownsamplesWithoutHalfPixelOffset) {
  // tf: src_x = x * 4/3 -> 0, 1.333, 2.667.
  const cv::Mat out = ResizeBilinearLikeTf(Row({0, 10, 20, 30}), 3, 1);
  ASSERT_EQ(out.type(), CV_32FC1);
  EXPECT_FLOAT_EQ(out.at<float>(0, 0), 0.0f);
  EXPECT_NEAR(out.at<float>(0, 1), 13.3333f, 1e-4);
  EXPECT_NEAR(out.at<float>(0, 2), 26.6667f, 1e-4);
}

TEST(ResizeBilinearLikeTfTest, UpsamplesClampingTheLastColumn) {
  // tf: src_x = x * 0.5 -> 0, 0.5, 1, 1.5 (neighbour clamped): 0, 5, 10, 10.
  // (cv::resize INTER_LINEAR would give 0, 2.5, 7.5, 10.)
  const cv::Mat out = ResizeBilinearLikeTf(Row({0, 10}), 4, 1);
  EXPECT_FLOAT_EQ(out.at<float>(0, 0), 0);
  EXPECT_FLOAT_EQ(out.at<float>(0, 1), 5);
  EXPECT_FLOAT_EQ(out.at<float>(0, 2), 10);
  EXPECT_FLOAT_EQ(out.at<float>(0, 3), 10);
}

TEST(ResizeBilinearLikeTfTest, InterpolatesRowsAndColumnsOfUint8) {
  // 2x2 -> 3x3 (ratio 2/3): rows/cols sampled at 0, 0.667, 1.333 (clamped).
  cv::Mat src = (cv::Mat_<uchar>(2, 2) << 0, 30, 60, 90);
  const cv::Mat out = ResizeBilinearLikeTf(src, 3, 3);
  ASSERT_EQ(out.type(), CV_32FC1);
  // (y=0.667, x=0.667): top 20, bottom 80 -> 20 + 60 * 0.667 = 60.
  EXPECT_NEAR(out.at<float>(1, 1), 60.0f, 1e-4);
  EXPECT_NEAR(out.at<float>(0, 1), 20.0f, 1e-4);
  EXPECT_NEAR(out.at<float>(2, 2), 90.0f, 1e-4);
  EXPECT_NEAR(out.at<float>(2, 0), 60.0f, 1e-4);
}

TEST(ResizeBilinearLikeTfTest, MatchesWarpAffineFormulation) {
  const cv::Mat src = RandomRgb(37, 23, 1);
  cv::Mat f;
  src.convertTo(f, CV_32F);
  const cv::Mat out = ResizeBilinearLikeTf(src, 16, 16);
  cv::Mat ref;
  const cv::Matx23d m(37.0 / 16, 0, 0, 0, 23.0 / 16, 0);
  cv::warpAffine(f, ref, cv::Mat(m), cv::Size(16, 16), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                 cv::BORDER_REPLICATE);
  // warpAffine quantises coordinates to 1/32 px; ours is exact.
  EXPECT_LT(cv::norm(out, ref, cv::NORM_INF), 255.0 / 32 + 1);
}

TEST(PadToSquareTest, SplitsPaddingLikeFaceApi) {
  cv::Mat one_row(1, 4, CV_8UC1, cv::Scalar(7));  // diff 3: append round(1.5)=2, prepend 1
  cv::Mat centred = PadToSquare(one_row, true);
  ASSERT_EQ(centred.size(), cv::Size(4, 4));
  EXPECT_EQ(centred.at<float>(0, 0), 0);
  EXPECT_EQ(centred.at<float>(1, 0), 7);
  EXPECT_EQ(centred.at<float>(2, 3), 0);
  cv::Mat top_left = PadToSquare(one_row, false);
  EXPECT_EQ(top_left.at<float>(0, 0), 7);
  EXPECT_EQ(top_left.at<float>(1, 0), 0);
}

TEST(ToTensorCHWTest, PlanarLayout) {
  cv::Mat m(2, 3, CV_8UC3, cv::Scalar(0, 0, 0));
  m.at<cv::Vec3b>(1, 2) = cv::Vec3b(10, 20, 30);
  const Tensor t = ToTensorCHW(m);
  ASSERT_EQ(t.shape, (std::vector<int64_t>{3, 2, 3}));
  EXPECT_EQ(t.data[0 * 6 + 1 * 3 + 2], 10);
  EXPECT_EQ(t.data[1 * 6 + 1 * 3 + 2], 20);
  EXPECT_EQ(t.data[2 * 6 + 1 * 3 + 2], 30);
}

// The tf resize written the direct way: for every output value, its four
// source taps (zero in the padding), blended horizontally then vertically.
// The library computes it separably, with row reuse; the values must be the
// same bit for bit (the face-api parity tests depend on them).
float DirectTfSample(const cv::Mat& src, int left, int top, int pw, int ph, int w, int h,
                     int x, int y, int c) {
  auto tap = [](int o, int out, int padded, int offset, int limit, int* i0, int* i1) {
    const double f = o * (static_cast<double>(padded) / out);
    const int p0 = static_cast<int>(std::floor(f));
    const int p1 = std::min(p0 + 1, padded - 1);
    *i0 = p0 - offset >= 0 && p0 - offset < limit ? p0 - offset : -1;
    *i1 = p1 - offset >= 0 && p1 - offset < limit ? p1 - offset : -1;
    return static_cast<float>(f - p0);
  };
  int x0, x1, y0, y1;
  const float fx = tap(x, w, pw, left, src.cols, &x0, &x1);
  const float fy = tap(y, h, ph, top, src.rows, &y0, &y1);
  cv::Mat f;
  src.convertTo(f, CV_32F);
  auto at = [&](int yy, int xx) {
    return yy >= 0 && xx >= 0 ? f.ptr<float>(yy)[xx * f.channels() + c] : 0.0f;
  };
  const float t = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * fx;
  const float b = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * fx;
  return t + (b - t) * fy;
}

TEST(ResizeBilinearLikeTfTest, BitIdenticalToTheDirectFormula) {
  std::mt19937 gen(7);
  for (int type : {CV_8UC3, CV_32FC3, CV_8UC1, CV_32FC(4)}) {
    for (cv::Size in : {cv::Size(37, 23), cv::Size(5, 9), cv::Size(64, 64)}) {
      for (cv::Size out : {cv::Size(16, 16), cv::Size(50, 31), cv::Size(7, 80)}) {
        cv::Mat src(in, type);
        cv::randu(src, 0, 255);
        const cv::Mat r = ResizeBilinearLikeTf(src, out.width, out.height);
        ASSERT_EQ(r.channels(), src.channels());
        for (int y = 0; y < out.height; ++y) {
          for (int x = 0; x < out.width; ++x) {
            for (int c = 0; c < src.channels(); ++c) {
              ASSERT_EQ(r.ptr<float>(y)[x * src.channels() + c],
                        DirectTfSample(src, 0, 0, in.width, in.height, out.width, out.height,
                                       x, y, c))
                  << "type " << type << " " << in << " -> " << out << " at " << x << "," << y;
            }
          }
        }
      }
    }
  }
}

TEST(LetterboxToTensorTest, BitIdenticalToTheDirectFormulaWithPadding) {
  for (bool center : {false, true}) {
    for (cv::Size s : {cv::Size(37, 23), cv::Size(20, 51), cv::Size(9, 4)}) {
      for (int size : {16, 61}) {  // down- and upsampling
        const cv::Mat img = RandomRgb(s.width, s.height, 3);
        const Tensor t = LetterboxToTensor(img, size, center);
        const int side = std::max(s.width, s.height);
        const int diff = side - std::min(s.width, s.height);
        const int prepend = center ? diff - static_cast<int>(std::lround(diff * 0.5)) : 0;
        const int left = s.width < s.height ? prepend : 0;
        const int top = s.height < s.width ? prepend : 0;
        for (int c = 0; c < 3; ++c) {
          for (int y = 0; y < size; ++y) {
            for (int x = 0; x < size; ++x) {
              ASSERT_EQ(t.data[(c * size + y) * size + x],
                        DirectTfSample(img, left, top, side, side, size, size, x, y, c))
                  << s << " centre " << center << " size " << size << " at " << x << "," << y;
            }
          }
        }
      }
    }
  }
}

TEST(LetterboxToTensorTest, ACanvasScaleShrinksTheImageInsideTheInput) {
  for (bool center : {false, true}) {
    const cv::Mat img = RandomRgb(40, 25, 5);
    float scale = 0;
    const Tensor t = LetterboxToTensor(img, 32, center, &scale, 2.5f);
    const Letterbox box = MakeLetterbox(40, 25, center, 2.5f);
    ASSERT_EQ(box.side, 100);
    EXPECT_FLOAT_EQ(scale, 0.32f);
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          ASSERT_EQ(t.data[(c * 32 + y) * 32 + x],
                    DirectTfSample(img, box.left, box.top, box.side, box.side, 32, 32, x, y, c))
              << "centre " << center << " at " << x << "," << y;
        }
      }
    }
    // The image covers at most 40 % of the input: the far corner is padding.
    EXPECT_EQ(t.data[31 * 32 + 31], 0.0f);
  }
}

TEST(LetterboxToTensorTest, EqualsPadThenResize) {
  for (bool center : {false, true}) {
    for (cv::Size s : {cv::Size(37, 23), cv::Size(20, 51), cv::Size(32, 32)}) {
      const cv::Mat img = RandomRgb(s.width, s.height, 2);
      float scale = 0;
      const Tensor t = LetterboxToTensor(img, 16, center, &scale);
      const Tensor ref = ToTensorCHW(ResizeBilinearLikeTf(PadToSquare(img, center), 16, 16));
      ASSERT_EQ(t.shape, ref.shape);
      for (size_t i = 0; i < t.data.size(); ++i) ASSERT_NEAR(t.data[i], ref.data[i], 1e-3) << i;
      EXPECT_FLOAT_EQ(scale, 16.0f / std::max(s.width, s.height));
    }
  }
}

TEST(CropBoxToSquareTest, PadsCentredAndMapsBack) {
  const cv::Mat img = RandomRgb(100, 100, 3);
  // 20 x 10 box -> side 20, 5 rows of zeros above and below; size 20: no resize.
  absl::StatusOr<FaceCrop> c = CropBoxToSquare(img, Box{30, 40, 50, 50}, 20);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->rgb.size(), cv::Size(20, 20));
  ASSERT_EQ(c->rgb.type(), CV_32FC3);
  EXPECT_EQ(c->rgb.at<cv::Vec3f>(4, 10), cv::Vec3f(0, 0, 0));
  EXPECT_EQ(c->rgb.at<cv::Vec3f>(15, 10), cv::Vec3f(0, 0, 0));
  for (int v = 5; v < 15; ++v) {
    for (int u = 0; u < 20; ++u) {
      const cv::Vec3b p = img.at<cv::Vec3b>(40 + v - 5, 30 + u);
      ASSERT_EQ(c->rgb.at<cv::Vec3f>(v, u), cv::Vec3f(p[0], p[1], p[2])) << u << "," << v;
    }
  }
  const Point back = Apply(c->crop_to_image, {3, 7});
  EXPECT_FLOAT_EQ(back.x, 33);
  EXPECT_FLOAT_EQ(back.y, 42);
}

TEST(CropBoxToSquareTest, ResizesAndScalesAroundCentre) {
  const cv::Mat img = RandomRgb(200, 200, 4);
  // Box 40x40 at (80,80) scaled 1.5 -> 60x60 at (70,70); resized to 30.
  absl::StatusOr<FaceCrop> c = CropBoxToSquare(img, Box{80, 80, 120, 120}, 30, 1.5f);
  ASSERT_TRUE(c.ok());
  const cv::Mat ref = ResizeBilinearLikeTf(img(cv::Rect(70, 70, 60, 60)), 30, 30);
  EXPECT_EQ(cv::norm(c->rgb, ref, cv::NORM_INF), 0);
  const Point p = Apply(c->crop_to_image, {15, 15});
  EXPECT_FLOAT_EQ(p.x, 100);
  EXPECT_FLOAT_EQ(p.y, 100);
}

TEST(CropBoxToSquareTest, ClipsAtImageBordersAndFloors) {
  const cv::Mat img = RandomRgb(50, 40, 5);
  // (-10.5, -3.2)..(20.7, 15.9) -> clipped x 0, y 0, w floor(20.7)=20, h floor(15.9)=15.
  absl::StatusOr<FaceCrop> c = CropBoxToSquare(img, Box{-10.5f, -3.2f, 20.7f, 15.9f}, 20);
  ASSERT_TRUE(c.ok());
  // diff 5: append round(2.5)=3, prepend 2 rows.
  EXPECT_EQ(c->crop_to_image(1, 2), -2);
  EXPECT_EQ(c->crop_to_image(0, 2), 0);
  const cv::Vec3b p = img.at<cv::Vec3b>(0, 0);
  EXPECT_EQ(c->rgb.at<cv::Vec3f>(2, 0), cv::Vec3f(p[0], p[1], p[2]));
  // Entirely outside: still a (1-pixel) crop, no crash.
  EXPECT_TRUE(CropBoxToSquare(img, Box{500, 500, 600, 600}, 20).ok());
  EXPECT_FALSE(CropBoxToSquare(img, Box{0, 0, NAN, 5}, 20).ok());
  EXPECT_FALSE(CropBoxToSquare(cv::Mat(), Box{0, 0, 5, 5}, 20).ok());
}

TEST(CropScaledBoxShiftedTest, ShiftsInsideTheImage) {
  const cv::Mat img = RandomRgb(100, 80, 6);
  // Box 20x20 at (5,5) scale 2 -> 40x40 centred at (15,15) -> (-5..35): shifted to 0..40.
  absl::StatusOr<FaceCrop> c = CropScaledBoxShifted(img, Box{5, 5, 25, 25}, 40, 2.0f);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->rgb.size(), cv::Size(40, 40));
  // Inclusive slice 0..40 = 41 px resized to 40.
  const Point p = Apply(c->crop_to_image, {-0.5f, -0.5f});
  EXPECT_NEAR(p.x, -0.5f, 1e-4);
  const Point q = Apply(c->crop_to_image, {39.5f, 39.5f});
  EXPECT_NEAR(q.x, 40.5f, 1e-4);
  // Scale larger than the image allows is reduced.
  EXPECT_TRUE(CropScaledBoxShifted(img, Box{40, 30, 60, 50}, 40, 10.0f).ok());
}

// An image whose red channel is 2x + 1 and green 3y + 2 (blue 7): bilinear
// sampling reproduces a linear ramp exactly, so each crop pixel tells where
// in the image it was sampled.
cv::Mat RampRgb(int width, int height) {
  cv::Mat img(height, width, CV_32FC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) img.at<cv::Vec3f>(y, x) = cv::Vec3f(2 * x + 1, 3 * y + 2, 7);
  }
  return img;
}

TEST(CropSquareBoxTest, SquareOfTheLongerSideScaledAboutTheCentre) {
  const cv::Mat img = RampRgb(200, 160);
  // Box 40 wide, 20 high, centred at (80, 60); scale 1.5: a 60x60 square from
  // (50, 30) whose first and last pixel centres are 50 and 109.
  absl::StatusOr<FaceCrop> c = CropSquareBox(img, Box{60, 50, 100, 70}, 60, 1.5f);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->rgb.size(), cv::Size(60, 60));
  ASSERT_EQ(c->rgb.type(), CV_32FC3);
  for (int i : {0, 17, 59}) {
    const cv::Vec3f v = c->rgb.at<cv::Vec3f>(i, i);
    EXPECT_NEAR(v[0], 2 * (50 + i) + 1, 1e-3) << i;
    EXPECT_NEAR(v[1], 3 * (30 + i) + 2, 1e-3) << i;
    const Point p = Apply(c->crop_to_image, {static_cast<float>(i), static_cast<float>(i)});
    EXPECT_NEAR(p.x, 50 + i, 1e-4);
    EXPECT_NEAR(p.y, 30 + i, 1e-4);
  }
}

TEST(CropSquareBoxTest, ResizesWithCropAndResizeSpacingAndZerosOutside) {
  const cv::Mat img = RampRgb(100, 100);
  // Side 40 from (-20, 70): samples every 39/19 px; the left half and the
  // rows below the image are outside it.
  absl::StatusOr<FaceCrop> c = CropSquareBox(img, Box{-10, 80, 10, 100}, 20, 2.0f);
  ASSERT_TRUE(c.ok()) << c.status();
  const double step = 39.0 / 19.0;
  const cv::Vec3f inside = c->rgb.at<cv::Vec3f>(5, 15);  // x = -20 + 15 step, y = 70 + 5 step
  // OpenCV's warpAffine places samples on a 1/32-pixel grid: within 1/64 px.
  EXPECT_NEAR(inside[0], 2 * (-20 + 15 * step) + 1, 2.0 / 64 + 1e-3);
  EXPECT_NEAR(inside[1], 3 * (70 + 5 * step) + 2, 3.0 / 64 + 1e-3);
  EXPECT_EQ(c->rgb.at<cv::Vec3f>(5, 2), cv::Vec3f(0, 0, 0));   // x < 0
  EXPECT_EQ(c->rgb.at<cv::Vec3f>(19, 15), cv::Vec3f(0, 0, 0));  // y = 109 > 99
  // Wholly outside the image: all zeros, not an error.
  absl::StatusOr<FaceCrop> away = CropSquareBox(img, Box{300, 300, 320, 320}, 16, 1.0f);
  ASSERT_TRUE(away.ok()) << away.status();
  EXPECT_EQ(cv::countNonZero(away->rgb.reshape(1)), 0);
}

TEST(CropSquareBoxTest, RejectsEmptyOrNonFiniteBoxes) {
  const cv::Mat img = RampRgb(50, 50);
  EXPECT_EQ(CropSquareBox(img, Box{10, 10, 10, 30}, 16, 1.0f).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CropSquareBox(img, Box{10, 10, NAN, 30}, 16, 1.0f).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CropSquareBox(img, Box{10, 10, 20, 30}, 16, 0.0f).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ResizeWholeImageTest, MapsCornersBack) {
  absl::StatusOr<FaceCrop> c = ResizeWholeImage(RandomRgb(300, 150, 7), 150);
  ASSERT_TRUE(c.ok());
  const Point p = Apply(c->crop_to_image, {150, 150});
  EXPECT_FLOAT_EQ(p.x, 300);
  EXPECT_FLOAT_EQ(p.y, 150);
}

std::vector<Point> Grid68(float x0, float y0, float step) {
  std::vector<Point> lm(68);
  for (int i = 0; i < 68; ++i) lm[i] = Point{x0 + step * (i % 10), y0 + step * (i / 10)};
  return lm;
}

TEST(BoxFromLandmarks68Test, MinBoxPaddedByTwentyPercent) {
  std::vector<Point> lm(68, Point{50, 40});
  lm[0] = {10, 20};
  lm[1] = {110, 70};
  const Box b = BoxFromLandmarks68(lm);
  EXPECT_FLOAT_EQ(b.x1, 0);
  EXPECT_FLOAT_EQ(b.x2, 120);
  EXPECT_FLOAT_EQ(b.y1, 15);
  EXPECT_FLOAT_EQ(b.y2, 75);
}

TEST(DlibAlignedBoxTest, FollowsFaceApiAlignDlib) {
  std::vector<Point> lm(68, Point{0, 0});
  for (int i = 36; i < 42; ++i) lm[i] = {100, 100};
  for (int i = 42; i < 48; ++i) lm[i] = {160, 100};
  for (int i = 48; i < 68; ++i) lm[i] = {130, 140};
  // eye->mouth 50 -> size floor(50/0.45)=111; centre (130, 113.33).
  const Box b = DlibBoxFromLandmarks68(lm, 640, 480);
  EXPECT_FLOAT_EQ(b.x1, std::floor(130 - 55.5f));
  EXPECT_FLOAT_EQ(b.y1, std::floor(113.3333f - 0.43f * 111));
  EXPECT_FLOAT_EQ(b.width(), 111);
}

TEST(Landmarks5From68Test, EyeCentresNoseMouthCorners) {
  const std::vector<Point> lm = Grid68(0, 0, 1);
  const std::vector<Point> p = Landmarks5From68(lm);
  ASSERT_EQ(p.size(), 5u);
  double ex = 0, ey = 0;
  for (int i = 36; i < 42; ++i) ex += lm[i].x / 6, ey += lm[i].y / 6;
  EXPECT_NEAR(p[0].x, ex, 1e-5);
  EXPECT_NEAR(p[0].y, ey, 1e-5);
  EXPECT_EQ(p[2].x, lm[30].x);
  EXPECT_EQ(p[3].y, lm[48].y);
  EXPECT_EQ(p[4].x, lm[54].x);
}

TEST(SimilarityTemplateTest, DerivedFromDlibMeanFace) {
  const std::vector<Point> t = SimilarityTemplate5(150, 0.25f);
  ASSERT_EQ(t.size(), 5u);
  // Nose tip (landmark 30): mean face (0.490127, 0.515625).
  EXPECT_NEAR(t[2].x, (0.25 + 0.490127) / 1.5 * 149, 1e-3);
  EXPECT_NEAR(t[2].y, (0.25 + 0.515625) / 1.5 * 149, 1e-3);
  EXPECT_LT(t[0].x, t[1].x);  // image-left eye first
  EXPECT_NEAR(t[0].y, t[1].y, 1e-3);
  std::vector<int> idx;
  EXPECT_EQ(SimilarityTemplate68(150, 0.25f, &idx).size(), 33u);
  EXPECT_EQ(idx.front(), 27);
  EXPECT_EQ(idx.back(), 64);
}

TEST(EstimateSimilarityTest, RecoversKnownTransform) {
  const double s = 1.7, a = 0.3, tx = 12, ty = -4;
  std::vector<Point> from = {{0, 0}, {10, 0}, {3, 7}, {-2, 5}};
  std::vector<Point> to;
  for (const Point& p : from) {
    to.push_back(Point{static_cast<float>(s * (std::cos(a) * p.x - std::sin(a) * p.y) + tx),
                       static_cast<float>(s * (std::sin(a) * p.x + std::cos(a) * p.y) + ty)});
  }
  const cv::Matx23d m = EstimateSimilarity(from, to);
  EXPECT_NEAR(m(0, 0), s * std::cos(a), 1e-5);
  EXPECT_NEAR(m(1, 0), s * std::sin(a), 1e-5);
  EXPECT_NEAR(m(0, 2), tx, 1e-4);
  EXPECT_NEAR(m(1, 2), ty, 1e-4);
}

// An image of Gaussian spots at T(template points), spot sigma scaled with T.
cv::Mat SpotImage(int w, int h, const std::vector<Point>& spots, double sigma) {
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(0, 0, 0));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      double v = 0;
      for (const Point& p : spots) {
        v += std::exp(-((x - p.x) * (x - p.x) + (y - p.y) * (y - p.y)) / (2 * sigma * sigma));
      }
      const uchar c = cv::saturate_cast<uchar>(255 * v);
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(c, c, c);
    }
  }
  return img;
}

Point Centroid(const cv::Mat& chip, Point around, int r) {
  double sx = 0, sy = 0, sw = 0;
  for (int y = static_cast<int>(around.y) - r; y <= static_cast<int>(around.y) + r; ++y) {
    for (int x = static_cast<int>(around.x) - r; x <= static_cast<int>(around.x) + r; ++x) {
      if (x < 0 || y < 0 || x >= chip.cols || y >= chip.rows) continue;
      const double w = chip.at<cv::Vec3f>(y, x)[0];
      sx += w * x, sy += w * y, sw += w;
    }
  }
  return Point{static_cast<float>(sx / sw), static_cast<float>(sy / sw)};
}

TEST(AlignBySimilarityTest, PutsLandmarksOnTheTemplate) {
  const int size = 150;
  const std::vector<Point> tmpl = SimilarityTemplate5(size, 0.25f);
  // scale 1.3: no pyramid; scale 5: two pyrDown levels.
  for (double s : {1.3, 5.0}) {
    const double a = 0.35;
    std::vector<Point> lm;
    for (const Point& p : tmpl) {
      lm.push_back(Point{static_cast<float>(s * (std::cos(a) * p.x - std::sin(a) * p.y) + 260),
                         static_cast<float>(s * (std::sin(a) * p.x + std::cos(a) * p.y) + 30)});
    }
    float maxx = 0, maxy = 0;
    for (const Point& p : lm) maxx = std::max(maxx, p.x), maxy = std::max(maxy, p.y);
    const cv::Mat img =
        SpotImage(static_cast<int>(maxx) + 60, static_cast<int>(maxy) + 60, lm, 2.5 * s);
    absl::StatusOr<FaceCrop> c = AlignBySimilarity(img, lm, size, 0.25f);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_EQ(c->rgb.size(), cv::Size(size, size));
    for (size_t i = 0; i < tmpl.size(); ++i) {
      const Point got = Centroid(c->rgb, tmpl[i], 6);
      EXPECT_NEAR(got.x, tmpl[i].x, 0.5) << "scale " << s << " point " << i;
      EXPECT_NEAR(got.y, tmpl[i].y, 0.5) << "scale " << s << " point " << i;
      const Point back = Apply(c->crop_to_image, tmpl[i]);
      EXPECT_NEAR(back.x, lm[i].x, 1e-2);
      EXPECT_NEAR(back.y, lm[i].y, 1e-2);
    }
  }
}

TEST(AlignBySimilarityTest, SixtyEightPointVariantFitsDlibTemplate) {
  std::vector<int> idx;
  const std::vector<Point> tmpl = SimilarityTemplate68(150, 0.25f, &idx);
  std::vector<Point> lm68(68, Point{0, 0});
  for (size_t i = 0; i < idx.size(); ++i) lm68[idx[i]] = Point{tmpl[i].x * 2 + 10, tmpl[i].y * 2};
  absl::StatusOr<FaceCrop> c = AlignBySimilarity68(RandomRgb(400, 400, 8), lm68, 150, 0.25f);
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR(c->crop_to_image(0, 0), 2, 1e-4);
  EXPECT_NEAR(c->crop_to_image(0, 1), 0, 1e-4);
  EXPECT_NEAR(c->crop_to_image(0, 2), 10, 1e-3);
}

TEST(AlignBySimilarityTest, RejectsBadLandmarks) {
  const cv::Mat img = RandomRgb(50, 50, 9);
  EXPECT_EQ(AlignBySimilarity(img, {{1, 1}}, 150, 0.25f).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AlignBySimilarity(img, std::vector<Point>(5, Point{3, 3}), 150, 0.25f).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<Point> nan(5, Point{NAN, 1});
  EXPECT_EQ(AlignBySimilarity(img, nan, 150, 0.25f).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Landmarks far outside the image: a black chip, no crash.
  std::vector<Point> far = SimilarityTemplate5(150, 0.25f);
  for (Point& p : far) p.x += 1e5f;
  EXPECT_TRUE(AlignBySimilarity(img, far, 150, 0.25f).ok());
}

}  // namespace
}  // namespace faceserve
