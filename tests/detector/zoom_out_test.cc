// NeedsZoomOut and CombineZoomOut: when the detector's zoomed-out pass runs,
// and which pass each face comes from.
#include "core/detector/zoom_out.h"

#include <gtest/gtest.h>

namespace faceserve {
namespace {

Detection Face(float x1, float y1, float x2, float y2, float score) {
  Detection d;
  d.box = Box{x1, y1, x2, y2};
  d.score = score;
  return d;
}

TEST(NeedsZoomOutTest, NoFaceOrAWideOneTriggersIt) {
  // 400x200 image, trigger 0.25: faces 100 px wide or wider.
  EXPECT_TRUE(NeedsZoomOut({}, 400, 200, 0.25f));
  EXPECT_TRUE(NeedsZoomOut({Face(0, 0, 20, 20, 0.9f), Face(50, 0, 150, 90, 0.9f)}, 400, 200, 0.25f));
  EXPECT_FALSE(NeedsZoomOut({Face(0, 0, 99, 120, 0.9f)}, 400, 200, 0.25f));  // tall, not wide
  EXPECT_FALSE(NeedsZoomOut({Face(0, 0, 20, 20, 0.9f)}, 400, 200, 0.25f));
}

TEST(NeedsZoomOutTest, OffWhenTheTriggerIsZero) {
  EXPECT_FALSE(NeedsZoomOut({}, 400, 200, 0.0f));
  EXPECT_FALSE(NeedsZoomOut({Face(0, 0, 400, 200, 0.9f)}, 400, 200, 0.0f));
}

TEST(CombineZoomOutTest, SmallFacesFromTheFirstPassLargeOnesFromTheZoomedPass) {
  const DecodeOptions options{0.5f, 0.4f, 10};
  // First pass: a small face, and two part-faces of one large face (eyes).
  const std::vector<Detection> first{Face(10, 10, 30, 30, 0.8f), Face(200, 50, 300, 120, 0.99f),
                                     Face(310, 50, 400, 120, 0.98f)};
  // Zoomed pass: the large face whole, and the small one seen again, coarser.
  const std::vector<Detection> zoomed{Face(190, 20, 400, 200, 0.97f), Face(8, 8, 32, 33, 0.95f)};
  const std::vector<Detection> faces = CombineZoomOut(first, zoomed, 400, 200, 0.2f, options);
  ASSERT_EQ(faces.size(), 2u);
  // Best score first: the zoomed pass's large face, then the first pass's small one.
  EXPECT_FLOAT_EQ(faces[0].box.x1, 190);
  EXPECT_FLOAT_EQ(faces[0].score, 0.97f);
  EXPECT_FLOAT_EQ(faces[1].box.x1, 10);
  EXPECT_FLOAT_EQ(faces[1].score, 0.8f);
}

TEST(CombineZoomOutTest, OverlapsAcrossThePassesAreSuppressedAndMaxFacesHolds) {
  // A face right at the threshold width seen by both passes: the first pass's
  // (narrower) copy stays below the threshold, the zoomed copy above it.
  const std::vector<Detection> first{Face(0, 0, 79, 80, 0.9f)};
  const std::vector<Detection> zoomed{Face(0, 0, 82, 80, 0.95f), Face(200, 0, 300, 100, 0.7f),
                                      Face(300, 100, 400, 200, 0.6f)};
  const std::vector<Detection> faces =
      CombineZoomOut(first, zoomed, 400, 200, 0.2f, DecodeOptions{0.5f, 0.4f, 2});
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_FLOAT_EQ(faces[0].score, 0.95f);
  EXPECT_FLOAT_EQ(faces[1].score, 0.7f);
}

}  // namespace
}  // namespace faceserve
