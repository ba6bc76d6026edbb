// The tracking metrics on small sequences whose values are worked out by
// hand in each case's comment.
#include "core/tracking/mot_metrics.h"

#include <vector>

#include "gtest/gtest.h"

namespace faceserve {
namespace {

Box At(float x, float y, float size = 10) { return Box{x, y, x + size, y + size}; }

MotFrame Frame(std::vector<TrackedBox> truths, std::vector<TrackedBox> hypotheses) {
  return MotFrame{std::move(truths), std::move(hypotheses), {}};
}

TEST(MotMetricsTest, PerfectTrackingScoresOne) {
  std::vector<MotFrame> frames;
  for (int f = 0; f < 3; ++f) {
    frames.push_back(Frame({{1, At(f, 0)}, {2, At(50, f)}}, {{10, At(f, 0)}, {20, At(50, f)}}));
  }
  const MotMetrics m = EvaluateMot(frames);
  EXPECT_EQ(m.truths, 6);
  EXPECT_EQ(m.matches, 6);
  EXPECT_EQ(m.misses + m.false_positives + m.id_switches, 0);
  EXPECT_DOUBLE_EQ(m.mota, 1.0);
  EXPECT_EQ(m.idtp, 6);
  EXPECT_DOUBLE_EQ(m.idf1, 1.0);
}

TEST(MotMetricsTest, OneSwitchHalfwayThrough) {
  // One person over 4 frames; the tracker calls it 1, then 2 from frame 2.
  // CLEAR-MOT: 4 matches, 1 switch: MOTA = 1 - 1/4 = 0.75. Identity: truth 1
  // pairs with one of the hypotheses for 2 frames: IDTP 2, IDFN 2, IDFP 2,
  // IDF1 = 4 / (4 + 2 + 2) = 0.5.
  std::vector<MotFrame> frames;
  for (int f = 0; f < 4; ++f) frames.push_back(Frame({{1, At(0, 0)}}, {{f < 2 ? 1 : 2, At(0, 0)}}));
  const MotMetrics m = EvaluateMot(frames);
  EXPECT_EQ(m.matches, 4);
  EXPECT_EQ(m.id_switches, 1);
  EXPECT_DOUBLE_EQ(m.mota, 0.75);
  EXPECT_EQ(m.idtp, 2);
  EXPECT_EQ(m.idfn, 2);
  EXPECT_EQ(m.idfp, 2);
  EXPECT_DOUBLE_EQ(m.idf1, 0.5);
  EXPECT_DOUBLE_EQ(m.idp, 0.5);
  EXPECT_DOUBLE_EQ(m.idr, 0.5);
}

TEST(MotMetricsTest, SwitchingBackCountsAgain) {
  // Ids 1, 2, 1 on three frames: two switches; MOTA = 1 - 2/3. Identity:
  // truth with hypothesis 1 for 2 frames: IDF1 = 4 / (4 + 1 + 1).
  const std::vector<MotFrame> frames = {Frame({{1, At(0, 0)}}, {{1, At(0, 0)}}),
                                        Frame({{1, At(0, 0)}}, {{2, At(0, 0)}}),
                                        Frame({{1, At(0, 0)}}, {{1, At(0, 0)}})};
  const MotMetrics m = EvaluateMot(frames);
  EXPECT_EQ(m.id_switches, 2);
  EXPECT_DOUBLE_EQ(m.mota, 1.0 - 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.idf1, 4.0 / 6.0);
}

TEST(MotMetricsTest, AMissAndAFalsePositive) {
  // The only hypothesis is elsewhere (IoU 0): 1 miss, 1 false positive,
  // MOTA = 1 - 2/1 = -1; no identity match: IDF1 0.
  const MotMetrics m = EvaluateMot({Frame({{1, At(0, 0)}}, {{7, At(100, 100)}})});
  EXPECT_EQ(m.misses, 1);
  EXPECT_EQ(m.false_positives, 1);
  EXPECT_DOUBLE_EQ(m.mota, -1.0);
  EXPECT_DOUBLE_EQ(m.idf1, 0.0);
}

TEST(MotMetricsTest, AnOverlapBelowTheThresholdIsNoMatch) {
  // Boxes 10 wide, offset by 5: IoU = 50 / 150 = 1/3.
  const std::vector<MotFrame> frames = {Frame({{1, At(0, 0)}}, {{1, At(5, 0)}})};
  EXPECT_EQ(EvaluateMot(frames, 0.5).matches, 0);
  EXPECT_EQ(EvaluateMot(frames, 0.3).matches, 1);
}

TEST(MotMetricsTest, AKeptCorrespondenceIsNoSwitchEvenWhenAnotherFitsBetter) {
  // Frame 0: truth 1 matched by hypothesis 1, truth 2 by hypothesis 2.
  // Frame 1: truth 2 is gone; hypothesis 2 now sits exactly on truth 1,
  // hypothesis 1 still overlaps it by 0.7. CLEAR-MOT keeps 1-1: no switch,
  // hypothesis 2 is a false positive. Matches 3, MOTA = 1 - 1/3.
  const std::vector<MotFrame> frames = {
      Frame({{1, At(0, 0)}, {2, At(50, 0)}}, {{1, At(0, 0)}, {2, At(50, 0)}}),
      Frame({{1, At(0, 0)}}, {{1, Box{0, 0, 10, 7}}, {2, At(0, 0)}})};
  const MotMetrics m = EvaluateMot(frames);
  EXPECT_EQ(m.matches, 3);
  EXPECT_EQ(m.id_switches, 0);
  EXPECT_EQ(m.false_positives, 1);
  EXPECT_DOUBLE_EQ(m.mota, 1.0 - 1.0 / 3.0);
}

TEST(MotMetricsTest, CrossingPeopleMatchedToMakeTheMostPairs) {
  // Two truths and two hypotheses where the single best pair would leave the
  // other two unmatched: CLEAR-MOT makes both pairs (2 matches, MOTA 1).
  // Truth 1 at x=0, truth 2 at x=6; hypothesis A at x=2 (IoU with truth 1
  // 80/120 = 0.67, with truth 2 60/140 = 0.43), hypothesis B at x=-3 (with
  // truth 1 70/130 = 0.54, with truth 2 none).
  const MotMetrics m = EvaluateMot(
      {Frame({{1, At(0, 0)}, {2, At(6, 0)}}, {{10, At(2, 0)}, {11, At(-3, 0)}})}, 0.4);
  EXPECT_EQ(m.matches, 2);
  EXPECT_DOUBLE_EQ(m.mota, 1.0);
}

TEST(MotMetricsTest, AHypothesisOnAnIgnoredFaceCountsNeitherWay) {
  // Frame 1: truth 1 at x=0 tracked as 10; a mostly hidden face at x=40 is
  // ignored, and hypothesis 11 on it is left out (no false positive), and an
  // ignored face nobody found is no miss. Frame 2: hypothesis 12 at x=80
  // overlaps nothing: a false positive. Counted: 2 truths, 2 matches, 1
  // false positive: MOTA 1 - 1/2; IDTP 2, IDFP 1: IDF1 4/5.
  MotFrame first = Frame({{1, At(0, 0)}}, {{10, At(0, 0)}, {11, At(41, 0)}});
  first.ignored = {At(40, 0), At(120, 0)};
  MotFrame second = Frame({{1, At(1, 0)}}, {{10, At(1, 0)}, {12, At(80, 0)}});
  second.ignored = {At(40, 0)};
  const MotMetrics m = EvaluateMot({first, second});
  EXPECT_EQ(m.truths, 2);
  EXPECT_EQ(m.hypotheses, 3);
  EXPECT_EQ(m.matches, 2);
  EXPECT_EQ(m.misses, 0);
  EXPECT_EQ(m.false_positives, 1);
  EXPECT_DOUBLE_EQ(m.mota, 0.5);
  EXPECT_EQ(m.idtp, 2);
  EXPECT_EQ(m.idfp, 1);
  EXPECT_DOUBLE_EQ(m.idf1, 0.8);
}

TEST(MotMetricsTest, ATruthTakesItsHypothesisBeforeAnIgnoredFace) {
  // The hypothesis overlaps both the truth (IoU 1) and an ignored face
  // (IoU 0.67): it is the truth's match, kept and counted.
  MotFrame frame = Frame({{1, At(0, 0)}}, {{10, At(0, 0)}});
  frame.ignored = {At(2, 0)};
  const MotMetrics m = EvaluateMot({frame}, 0.5);
  EXPECT_EQ(m.matches, 1);
  EXPECT_EQ(m.hypotheses, 1);
  EXPECT_DOUBLE_EQ(m.mota, 1.0);
}

}  // namespace
}  // namespace faceserve
