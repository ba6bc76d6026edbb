#include "core/detector/detection_decoder.h"

#include <gtest/gtest.h>

namespace faceserve {
namespace {

Tensor Boxes(const std::vector<std::array<float, 4>>& b) {
  Tensor t({static_cast<int64_t>(b.size()), 4});
  for (size_t i = 0; i < b.size(); ++i) {
    for (int j = 0; j < 4; ++j) t.data[i * 4 + j] = b[i][j];
  }
  return t;
}

Tensor Scores(const std::vector<float>& s) {
  return Tensor({static_cast<int64_t>(s.size())}, s);
}

TEST(NonMaxSuppressionTest, KeepsBestOfOverlappingBoxesAndDistantOnes) {
  const std::vector<Box> boxes{{0, 0, 10, 10}, {1, 1, 11, 11}, {50, 50, 60, 60}};
  const std::vector<float> scores{0.8f, 0.9f, 0.7f};
  const std::vector<int> kept = NonMaxSuppression(boxes, scores, DecodeOptions{0.5f, 0.5f, 10});
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0], 1);  // highest score first
  EXPECT_EQ(kept[1], 2);
}

TEST(NonMaxSuppressionTest, ScoreMustExceedThresholdStrictly) {
  const std::vector<Box> boxes{{0, 0, 10, 10}};
  EXPECT_TRUE(NonMaxSuppression(boxes, {0.5f}, DecodeOptions{0.5f, 0.5f, 10}).empty());
  EXPECT_EQ(NonMaxSuppression(boxes, {0.51f}, DecodeOptions{0.5f, 0.5f, 10}).size(), 1u);
}

TEST(NonMaxSuppressionTest, StopsAtMaxFaces) {
  std::vector<Box> boxes;
  std::vector<float> scores;
  for (int i = 0; i < 10; ++i) {
    boxes.push_back(Box{i * 20.0f, 0, i * 20.0f + 10, 10});
    scores.push_back(0.6f + i * 0.01f);
  }
  const std::vector<int> kept = NonMaxSuppression(boxes, scores, DecodeOptions{0.5f, 0.5f, 3});
  EXPECT_EQ(kept, (std::vector<int>{9, 8, 7}));
}

TEST(LetterboxGeometryTest, TopLeftScalesByLongerSide) {
  const LetterboxGeometry g = MakeLetterboxGeometry(200, 100, /*center=*/false);
  EXPECT_EQ(g.side, 200);
  EXPECT_EQ(g.offset_x, 0);
  EXPECT_EQ(g.offset_y, 0);
}

TEST(LetterboxGeometryTest, ZoomedOutCanvasMapsBoxesBackToTheImage) {
  // A 200x100 image centred on a 500 px canvas (MakeLetterbox): 150 columns
  // and 200 rows before it.
  const LetterboxGeometry g = MakeLetterboxGeometry(200, 100, /*center=*/true, 2.5f);
  EXPECT_EQ(g.side, 500);
  EXPECT_EQ(g.offset_x, -150);
  EXPECT_EQ(g.offset_y, -200);
  absl::StatusOr<std::vector<Detection>> d = DecodeDetections(
      Boxes({{0.4f, 0.42f, 0.5f, 0.5f}}), Scores({0.9f}), nullptr, g, DecodeOptions{0.5f, 0.5f, 10});
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_FLOAT_EQ((*d)[0].box.x1, 50);  // 0.4 * 500 - 150
  EXPECT_FLOAT_EQ((*d)[0].box.y1, 10);  // 0.42 * 500 - 200
  EXPECT_FLOAT_EQ((*d)[0].box.x2, 100);
  EXPECT_FLOAT_EQ((*d)[0].box.y2, 50);
}

TEST(LetterboxGeometryTest, CenterSplitsPaddingLikeFaceApi) {
  // diff 101: face-api appends round(50.5) = 51 and prepends 50.
  const LetterboxGeometry g = MakeLetterboxGeometry(300, 199, /*center=*/true);
  EXPECT_EQ(g.side, 300);
  EXPECT_EQ(g.offset_x, 0);
  EXPECT_EQ(g.offset_y, -50);
}

TEST(DecodeDetectionsTest, MapsNormalisedBoxesAndLandmarksToImagePixels) {
  const LetterboxGeometry g = MakeLetterboxGeometry(400, 200, false);
  Tensor landmarks({2, 4}, {0.1f, 0.2f, 0.3f, 0.4f, 0, 0, 0, 0});
  absl::StatusOr<std::vector<Detection>> d =
      DecodeDetections(Boxes({{0.1f, 0.1f, 0.2f, 0.3f}, {0.5f, 0.5f, 0.6f, 0.6f}}),
                       Scores({0.9f, 0.1f}), &landmarks, g, DecodeOptions{});
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_FLOAT_EQ((*d)[0].box.x1, 40);
  EXPECT_FLOAT_EQ((*d)[0].box.y1, 40);
  EXPECT_FLOAT_EQ((*d)[0].box.x2, 80);
  EXPECT_FLOAT_EQ((*d)[0].box.y2, 120);
  ASSERT_EQ((*d)[0].landmarks.size(), 2u);
  EXPECT_FLOAT_EQ((*d)[0].landmarks[1].x, 120);
  EXPECT_FLOAT_EQ((*d)[0].landmarks[1].y, 160);
  EXPECT_FALSE((*d)[0].truncated);
}

TEST(DecodeDetectionsTest, ClipsToTheImageAndDropsBoxesInThePadding) {
  const LetterboxGeometry g = MakeLetterboxGeometry(100, 50, false);  // rows 50..100 are padding
  absl::StatusOr<std::vector<Detection>> d = DecodeDetections(
      Boxes({{-0.1f, 0.4f, 0.5f, 0.9f}, {0.1f, 0.6f, 0.3f, 0.9f}}), Scores({0.9f, 0.8f}), nullptr,
      g, DecodeOptions{});
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_FLOAT_EQ((*d)[0].box.x1, 0);
  EXPECT_FLOAT_EQ((*d)[0].box.y2, 50);
  EXPECT_TRUE((*d)[0].truncated);  // cut by the left and the bottom border
}

TEST(IsTruncatedTest, TheBorderOrTwoPixelsFromIt) {
  EXPECT_FALSE(IsTruncated(Box{3, 3, 97, 47}, 100, 50));
  EXPECT_TRUE(IsTruncated(Box{2, 10, 50, 40}, 100, 50));   // within 2 px of the left
  EXPECT_TRUE(IsTruncated(Box{10, 0, 50, 40}, 100, 50));   // at the top
  EXPECT_TRUE(IsTruncated(Box{10, 10, 98, 40}, 100, 50));  // within 2 px of the right
  EXPECT_TRUE(IsTruncated(Box{10, 10, 50, 50}, 100, 50));  // at the bottom
  EXPECT_FALSE(IsTruncated(Box{10, 10, 50, 47.5f}, 100, 50));
}

TEST(DecodeDetectionsTest, RejectsMismatchedShapes) {
  absl::StatusOr<std::vector<Detection>> d = DecodeDetections(
      Boxes({{0, 0, 1, 1}}), Scores({0.9f, 0.8f}), nullptr, MakeLetterboxGeometry(10, 10, false),
      DecodeOptions{});
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace faceserve
