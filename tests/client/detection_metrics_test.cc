#include "client/detection_metrics.h"

#include <gtest/gtest.h>

namespace faceserve::client {
namespace {

TEST(DetectionMetricsTest, IoUOfKnownBoxes) {
  EXPECT_FLOAT_EQ(BoxIoU({0, 0, 10, 10}, {0, 0, 10, 10}), 1.0f);
  EXPECT_FLOAT_EQ(BoxIoU({0, 0, 10, 10}, {5, 0, 15, 10}), 50.0f / 150.0f);
  EXPECT_FLOAT_EQ(BoxIoU({0, 0, 10, 10}, {20, 20, 30, 30}), 0.0f);
  EXPECT_FLOAT_EQ(BoxIoU({0, 0, 0, 0}, {0, 0, 0, 0}), 0.0f);
}

TEST(DetectionMetricsTest, MatchingIsOneToOneAndPrefersTheBestOverlap) {
  // One detection overlapping two boxes counts once.
  EXPECT_EQ(CountMatched({{0, 0, 10, 10}, {1, 0, 11, 10}}, {{0, 0, 10, 10}}, 0.4f), 1);
  // Greedy by IoU: box A (IoU 1 with d1) takes d1, B takes d2.
  EXPECT_EQ(CountMatched({{0, 0, 10, 10}, {4, 0, 14, 10}}, {{0, 0, 10, 10}, {5, 0, 15, 10}}, 0.4f),
            2);
  // Below the threshold nothing matches.
  EXPECT_EQ(CountMatched({{0, 0, 10, 10}}, {{5, 0, 15, 10}}, 0.4f), 0);
  EXPECT_EQ(CountMatched({}, {{0, 0, 1, 1}}, 0.4f), 0);
}

TEST(DetectionMetricsTest, TallySeparatesMissesExtrasAndFalsePositives) {
  DetectionTally t;
  t.Add({{0, 0, 10, 10}, {50, 50, 60, 60}}, {{0, 0, 10, 10}, {100, 100, 110, 110}}, 0.4f);
  t.Add({}, {{0, 0, 5, 5}, {9, 9, 19, 19}}, 0.4f);
  t.Add({}, {}, 0.4f);
  EXPECT_EQ(t.images, 3);
  EXPECT_EQ(t.annotated_faces, 2);
  EXPECT_EQ(t.matched_faces, 1);
  EXPECT_DOUBLE_EQ(t.recall(), 0.5);
  EXPECT_EQ(t.unmatched_detections, 1);
  EXPECT_EQ(t.no_face_images, 2);
  EXPECT_EQ(t.false_positives, 2);
  EXPECT_DOUBLE_EQ(DetectionTally{}.recall(), 0.0);
}

}  // namespace
}  // namespace faceserve::client
