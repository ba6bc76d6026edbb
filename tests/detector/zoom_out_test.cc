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

// The rules of the merge, one test each: a first-pass face goes only when a
// zoomed face takes its place or swallows it.
TEST(CombineZoomOutTest, ZoomedPassEmptyTheFirstPassStands) {
  // A 26 % face (triggers) and a small one; the zoomed pass finds nothing.
  const std::vector<Detection> first{Face(100, 50, 204, 180, 0.99f), Face(10, 10, 30, 30, 0.8f)};
  const std::vector<Detection> faces =
      CombineZoomOut(first, {}, 400, 300, 0.25f, DecodeOptions{0.5f, 0.4f, 10});
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_FLOAT_EQ(faces[0].box.x1, 100);
  EXPECT_FLOAT_EQ(faces[1].box.x1, 10);
}

TEST(CombineZoomOutTest, ZoomedPassMissesOneOfTwoLargeFaces) {
  // Two large faces; the zoomed pass finds only the left one.
  const std::vector<Detection> first{Face(10, 10, 150, 170, 0.98f), Face(220, 20, 380, 190, 0.97f)};
  const std::vector<Detection> zoomed{Face(12, 8, 152, 172, 0.96f)};
  const std::vector<Detection> faces =
      CombineZoomOut(first, zoomed, 400, 300, 0.25f, DecodeOptions{0.5f, 0.4f, 10});
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_FLOAT_EQ(faces[0].box.x1, 220);  // the first pass's, kept
  EXPECT_FLOAT_EQ(faces[0].score, 0.97f);
  EXPECT_FLOAT_EQ(faces[1].box.x1, 12);  // the zoomed pass's, in place of its first-pass copy
}

TEST(CombineZoomOutTest, AFaceMeasuredOnEitherSideOfTheTriggerIsKeptOnce) {
  const DecodeOptions options{0.5f, 0.4f, 10};
  // 1000 px image, trigger 0.25: 250 px. First pass 260 px wide (triggers),
  // zoomed pass 240 px wide (below the trigger): the zoomed copy replaces it.
  {
    const std::vector<Detection> first{Face(300, 300, 560, 620, 0.99f)};
    const std::vector<Detection> zoomed{Face(310, 310, 550, 610, 0.95f)};
    const std::vector<Detection> faces = CombineZoomOut(first, zoomed, 1000, 800, 0.25f, options);
    ASSERT_EQ(faces.size(), 1u);
    EXPECT_FLOAT_EQ(faces[0].score, 0.95f);
  }
  // The other way round: 240 px in the first pass (another face triggered
  // the zoomed pass), 260 px in the zoomed pass.
  {
    const std::vector<Detection> first{Face(310, 310, 550, 610, 0.99f),
                                       Face(600, 100, 900, 500, 0.98f)};
    const std::vector<Detection> zoomed{Face(300, 300, 560, 620, 0.95f),
                                        Face(605, 105, 905, 505, 0.97f)};
    const std::vector<Detection> faces = CombineZoomOut(first, zoomed, 1000, 800, 0.25f, options);
    ASSERT_EQ(faces.size(), 2u);
    EXPECT_FLOAT_EQ(faces[0].score, 0.97f);
    EXPECT_FLOAT_EQ(faces[1].score, 0.95f);
  }
}

TEST(CombineZoomOutTest, ZoomedSmallFacesAwayFromLargeOnesAreNotTaken) {
  // The zoomed pass misses the large face and reports a small box elsewhere
  // (texture at the coarser resolution): the first pass's face stands alone.
  const std::vector<Detection> first{Face(100, 50, 204, 180, 0.99f)};
  const std::vector<Detection> zoomed{Face(300, 200, 330, 230, 0.6f)};
  const std::vector<Detection> faces =
      CombineZoomOut(first, zoomed, 400, 300, 0.25f, DecodeOptions{0.5f, 0.4f, 10});
  ASSERT_EQ(faces.size(), 1u);
  EXPECT_FLOAT_EQ(faces[0].box.x1, 100);
}

TEST(CombineZoomOutTest, PartFacesInsideAZoomedFaceAreDropped) {
  // A face filling the image: the first pass reports its two halves (each
  // large), the zoomed pass the whole face; a small face beside it stays.
  const std::vector<Detection> first{Face(40, 40, 200, 260, 0.99f), Face(200, 40, 360, 260, 0.98f),
                                     Face(370, 10, 395, 35, 0.7f)};
  const std::vector<Detection> zoomed{Face(30, 20, 370, 290, 0.97f)};
  const std::vector<Detection> faces =
      CombineZoomOut(first, zoomed, 400, 300, 0.25f, DecodeOptions{0.5f, 0.4f, 10});
  ASSERT_EQ(faces.size(), 2u);
  EXPECT_FLOAT_EQ(faces[0].box.x1, 30);
  EXPECT_FLOAT_EQ(faces[1].box.x1, 370);
}

}  // namespace
}  // namespace faceserve
