#include "core/utilizer/annotator.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace faceserve {
namespace {

cv::Mat DecodeRgb(const std::string& jpeg) {
  const cv::Mat buf(1, static_cast<int>(jpeg.size()), CV_8U, const_cast<char*>(jpeg.data()));
  cv::Mat bgr = cv::imdecode(buf, cv::IMREAD_COLOR), rgb;
  if (bgr.empty()) return bgr;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat Grey(int w, int h) { return cv::Mat(h, w, CV_8UC3, cv::Scalar(128, 128, 128)); }

double MeanDiff(const cv::Mat& a, const cv::Mat& b) {
  return cv::norm(a, b, cv::NORM_L1) / static_cast<double>(a.total() * a.channels());
}

Face MakeFace() {
  Face f;
  f.detection.box = Box{100, 120, 200, 240};
  f.detection.score = 0.9f;
  f.landmarks5 = {{130, 160}, {170, 160}, {150, 185}, {135, 210}, {165, 210}};
  Prediction expr;
  HeadResult cls;
  cls.kind = HeadKind::kClassification;
  cls.label = "happy";
  cls.label_score = 0.974f;
  expr.heads.push_back(cls);
  Prediction ag;
  HeadResult gender = cls;
  gender.label = "male";
  gender.label_score = 0.91f;
  HeadResult age;
  age.kind = HeadKind::kRegression;
  age.values = {{"age", 31.4f}};
  ag.heads = {gender, age};
  f.predictions = {expr, ag};
  return f;
}

TEST(EncodeJpegTest, RoundTripsSizeAndColour) {
  cv::Mat img(30, 50, CV_8UC3, cv::Scalar(200, 40, 10));  // RGB
  absl::StatusOr<std::string> jpeg = EncodeJpeg(img, 95);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  const cv::Mat back = DecodeRgb(*jpeg);
  ASSERT_EQ(back.size(), img.size());
  EXPECT_LT(MeanDiff(back, img), 3);
  EXPECT_EQ(EncodeJpeg(cv::Mat()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeJpeg(img, 0).status().code(), absl::StatusCode::kInvalidArgument);
  cv::Mat f;
  img.convertTo(f, CV_32F);
  EXPECT_TRUE(EncodeJpeg(f).ok());
}

TEST(FaceLabelTest, TopLabelsAndRoundedRegression) {
  EXPECT_EQ(FaceLabel(MakeFace()), "happy 0.97 | male 0.91 | 31y");
  Face f;
  HeadResult r;
  r.kind = HeadKind::kRegression;
  r.values = {{"yaw", 12.6f}, {"score", 0.1234f}};
  HeadResult ml;
  ml.kind = HeadKind::kMultiLabel;
  ml.active_labels = {"glasses", "smiling"};
  Prediction p;
  p.heads = {r, ml};
  f.predictions = {p};
  EXPECT_EQ(FaceLabel(f), "yaw 13 | score 0.12 | glasses,smiling");
  EXPECT_EQ(FaceLabel(Face{}), "");
  // faceserve's age regression names its value age_years.
  Face years = MakeFace();
  for (Prediction& p : years.predictions) {
    for (HeadResult& h : p.heads) {
      for (auto& nv : h.values) {
        if (nv.first == "age") nv.first = "age_years";
      }
    }
  }
  EXPECT_EQ(FaceLabel(years), "happy 0.97 | male 0.91 | 31y");
}

TEST(DrawAnnotatedJpegTest, DrawsOnTheBoxOnlyNearTheFace) {
  const cv::Mat img = Grey(400, 300);
  absl::StatusOr<std::string> jpeg = DrawAnnotatedJpeg(img, {MakeFace()});
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  const cv::Mat out = DecodeRgb(*jpeg);
  ASSERT_EQ(out.size(), img.size());
  // The left border of the box (x = 100, y 150..230) changed.
  EXPECT_GT(MeanDiff(out(cv::Rect(99, 150, 3, 80)), img(cv::Rect(99, 150, 3, 80))), 30);
  // A landmark changed.
  EXPECT_GT(MeanDiff(out(cv::Rect(128, 158, 5, 5)), img(cv::Rect(128, 158, 5, 5))), 30);
  // The label sits above the box.
  EXPECT_GT(MeanDiff(out(cv::Rect(100, 100, 60, 15)), img(cv::Rect(100, 100, 60, 15))), 30);
  // Far away: unchanged (JPEG noise only).
  EXPECT_LT(MeanDiff(out(cv::Rect(300, 20, 80, 60)), img(cv::Rect(300, 20, 80, 60))), 2);
  EXPECT_LT(MeanDiff(out(cv::Rect(10, 250, 60, 40)), img(cv::Rect(10, 250, 60, 40))), 2);
  // The caller's image is untouched.
  EXPECT_EQ(cv::norm(img, Grey(400, 300), cv::NORM_INF), 0);
}

TEST(DrawAnnotatedJpegTest, LineWidthScalesWithImage) {
  const cv::Mat small = Grey(400, 400), big = Grey(2000, 2000);
  Face f;
  f.detection.box = Box{100, 100, 300, 300};
  Face fb;
  fb.detection.box = Box{500, 500, 1500, 1500};
  const cv::Mat a = DecodeRgb(*DrawAnnotatedJpeg(small, {f}));
  const cv::Mat b = DecodeRgb(*DrawAnnotatedJpeg(big, {fb}));
  auto width = [](const cv::Mat& m, int y, int x0) {  // changed pixels across the left edge
    int n = 0;
    for (int x = x0 - 15; x <= x0 + 15; ++x) n += m.at<cv::Vec3b>(y, x)[1] > 200 ? 1 : 0;
    return n;
  };
  EXPECT_LE(width(a, 200, 100), 3);
  EXPECT_GE(width(b, 1000, 500), 4);
}

TEST(DrawAnnotatedJpegTest, SurvivesFacesOutsideTheImage) {
  Face f = MakeFace();
  f.detection.box = Box{-500, -500, 5000, 5000};
  f.landmarks68.assign(68, Point{1e9f, -1e9f});
  EXPECT_TRUE(DrawAnnotatedJpeg(Grey(64, 48), {f}).ok());
  EXPECT_TRUE(DrawAnnotatedJpeg(Grey(64, 48), {}).ok());
}

TEST(FaceCropJpegTest, CropsTheClippedBox) {
  cv::Mat img = Grey(200, 100);
  cv::rectangle(img, cv::Rect(50, 20, 40, 30), cv::Scalar(250, 0, 0), cv::FILLED);
  absl::StatusOr<std::string> jpeg = FaceCropJpeg(img, Box{50, 20, 90, 50});
  ASSERT_TRUE(jpeg.ok());
  const cv::Mat c = DecodeRgb(*jpeg);
  ASSERT_EQ(c.size(), cv::Size(40, 30));
  EXPECT_GT(c.at<cv::Vec3b>(15, 20)[0], 230);
  // Rounded outward and clipped.
  absl::StatusOr<std::string> clipped = FaceCropJpeg(img, Box{-10.5f, 80.2f, 20.5f, 120});
  ASSERT_TRUE(clipped.ok());
  EXPECT_EQ(DecodeRgb(*clipped).size(), cv::Size(21, 20));
  EXPECT_EQ(FaceCropJpeg(img, Box{300, 0, 400, 50}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace faceserve
