#include "core/predictor/head_postprocess.h"

#include <gtest/gtest.h>

#include <cmath>

namespace faceserve {
namespace {

constexpr CropToImage kIdentity{1, 0, 0, 0, 1, 0};

TEST(HeadPostprocessTest, ClassificationAppliesSoftmaxAndPicksTheTopLabel) {
  HeadConfig head;
  head.name = "expression";
  head.kind = HeadKind::kClassification;
  head.labels = {"a", "b", "c"};
  absl::StatusOr<HeadResult> r = PostprocessHead(head, Tensor({3}, {1, 3, 2}), kIdentity, 10);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->label, "b");
  const float z = std::exp(1.f) + std::exp(3.f) + std::exp(2.f);
  EXPECT_NEAR(r->label_score, std::exp(3.f) / z, 1e-6);
  ASSERT_EQ(r->scores.size(), 3u);
  EXPECT_NEAR(r->scores[0].score + r->scores[1].score + r->scores[2].score, 1.0, 1e-6);
}

TEST(HeadPostprocessTest, ClassificationWithoutSoftmaxKeepsProbabilities) {
  HeadConfig head;
  head.kind = HeadKind::kClassification;
  head.apply_softmax = false;
  head.labels = {"x", "y"};
  absl::StatusOr<HeadResult> r = PostprocessHead(head, Tensor({2}, {0.3f, 0.7f}), kIdentity, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->label, "y");
  EXPECT_FLOAT_EQ(r->label_score, 0.7f);
}

TEST(HeadPostprocessTest, LabelCountMismatchIsAnError) {
  HeadConfig head;
  head.name = "g";
  head.kind = HeadKind::kClassification;
  head.labels = {"only"};
  EXPECT_EQ(PostprocessHead(head, Tensor({2}, {0, 1}), kIdentity, 10).status().code(),
            absl::StatusCode::kInternal);
}

TEST(HeadPostprocessTest, MultiLabelThresholdsSigmoid) {
  HeadConfig head;
  head.kind = HeadKind::kMultiLabel;
  head.labels = {"au1", "au2", "au3"};
  head.threshold = 0.5f;
  absl::StatusOr<HeadResult> r = PostprocessHead(head, Tensor({3}, {2, -2, 0.1f}), kIdentity, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->active_labels, (std::vector<std::string>{"au1", "au3"}));
  EXPECT_NEAR(r->scores[1].score, 1 / (1 + std::exp(2.f)), 1e-6);
}

TEST(HeadPostprocessTest, RegressionScalesAndNamesValues) {
  HeadConfig head;
  head.kind = HeadKind::kRegression;
  head.value_names = {"valence", "arousal"};
  head.value_scale = 2;
  head.value_offset = 1;
  absl::StatusOr<HeadResult> r = PostprocessHead(head, Tensor({2}, {0.5f, -1}), kIdentity, 10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->values.size(), 2u);
  EXPECT_EQ(r->values[0].first, "valence");
  EXPECT_FLOAT_EQ(r->values[0].second, 2);
  EXPECT_FLOAT_EQ(r->values[1].second, -1);
}

TEST(HeadPostprocessTest, EmbeddingIsUnitLength) {
  HeadConfig head;
  head.kind = HeadKind::kEmbedding;
  absl::StatusOr<HeadResult> r = PostprocessHead(head, Tensor({2}, {3, 4}), kIdentity, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r->embedding[0], 0.6f);
  EXPECT_FLOAT_EQ(r->embedding[1], 0.8f);
}

TEST(HeadPostprocessTest, LandmarksMapThroughTheCropTransform) {
  HeadConfig head;
  head.kind = HeadKind::kLandmarks;
  // Crop pixel (x, y) -> image (2x + 100, 2y + 50).
  const CropToImage m{2, 0, 100, 0, 2, 50};
  absl::StatusOr<HeadResult> r = PostprocessHead(head, Tensor({4}, {0.5f, 0.25f, 0, 1}), m, 112);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->points.size(), 2u);
  EXPECT_FLOAT_EQ(r->points[0].x, 2 * 56 + 100);
  EXPECT_FLOAT_EQ(r->points[0].y, 2 * 28 + 50);
  EXPECT_FLOAT_EQ(r->points[1].y, 2 * 112 + 50);
}

TEST(HeadPostprocessTest, Landmarks3dMapXyThroughTheCropAndScaleDepth) {
  HeadConfig head;
  head.kind = HeadKind::kLandmarks3d;
  // Crop pixel (x, y) -> image (2x + 100, 2y + 50): lengths double.
  const CropToImage m{2, 0, 100, 0, 2, 50};
  absl::StatusOr<HeadResult> r =
      PostprocessHead(head, Tensor({6}, {0.5f, 0.25f, -0.125f, 0, 1, 0.25f}), m, 192);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->points.size(), 2u);
  ASSERT_EQ(r->depths.size(), 2u);
  EXPECT_FLOAT_EQ(r->points[0].x, 2 * 96 + 100);
  EXPECT_FLOAT_EQ(r->points[0].y, 2 * 48 + 50);
  EXPECT_FLOAT_EQ(r->depths[0], 2 * -24.0f);
  EXPECT_FLOAT_EQ(r->points[1].y, 2 * 192 + 50);
  EXPECT_FLOAT_EQ(r->depths[1], 2 * 48.0f);
}

TEST(HeadPostprocessTest, LandmarksInCropPixelsAreNotScaledByTheCropSize) {
  HeadConfig head;
  head.kind = HeadKind::kLandmarks3d;
  head.units = HeadConfig::Units::kCropPixels;
  const CropToImage m{2, 0, 100, 0, 2, 50};
  absl::StatusOr<HeadResult> r = PostprocessHead(head, Tensor({3}, {96, 48, -24}), m, 192);
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r->points[0].x, 2 * 96 + 100);
  EXPECT_FLOAT_EQ(r->points[0].y, 2 * 48 + 50);
  EXPECT_FLOAT_EQ(r->depths[0], 2 * -24.0f);
  head.kind = HeadKind::kLandmarks;
  r = PostprocessHead(head, Tensor({2}, {10, 20}), m, 192);
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r->points[0].x, 2 * 10 + 100);
}

TEST(HeadPostprocessTest, Landmarks3dSizeMustBeAMultipleOfThree) {
  HeadConfig head;
  head.kind = HeadKind::kLandmarks3d;
  EXPECT_EQ(PostprocessHead(head, Tensor({4}, {0, 0, 0, 0}), kIdentity, 10).status().code(),
            absl::StatusCode::kInternal);
}

TEST(HeadPostprocessTest, NonFiniteOutputIsAnError) {
  HeadConfig head;
  head.kind = HeadKind::kEmbedding;
  EXPECT_FALSE(PostprocessHead(head, Tensor({2}, {NAN, 1}), kIdentity, 10).ok());
}

TEST(CosineSimilarityTest, KnownValues) {
  EXPECT_FLOAT_EQ(CosineSimilarity({1, 0}, {0, 1}), 0);
  EXPECT_FLOAT_EQ(CosineSimilarity({1, 1}, {2, 2}), 1);
  EXPECT_FLOAT_EQ(CosineSimilarity({1, 0}, {-1, 0}), -1);
  EXPECT_FLOAT_EQ(CosineSimilarity({0, 0}, {1, 0}), 0);
}

}  // namespace
}  // namespace faceserve
