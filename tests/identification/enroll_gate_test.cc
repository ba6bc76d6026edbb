// The enrollment gate: each rule, on faces made by hand, with the measured
// value and the limit in the rejection.
#include "core/identification/enroll_gate.h"

#include <gtest/gtest.h>

namespace faceserve {
namespace {

Face MakeFace(Box box, float score, bool truncated = false, float real = -1) {
  Face f;
  f.detection.box = box;
  f.detection.score = score;
  f.detection.truncated = truncated;
  if (real >= 0) {
    Prediction p{"antispoof", "minifasnet", "1", {}};
    HeadResult h;
    h.kind = HeadKind::kClassification;
    h.scores = {{"spoof_0", (1 - real) / 2}, {"real", real}, {"spoof_2", (1 - real) / 2}};
    p.heads.push_back(h);
    f.predictions.push_back(p);
  }
  return f;
}

const Box kBig{100, 100, 300, 320};   // 200 x 220
const Box kSmall{10, 10, 50, 60};      // 40 x 50

TEST(EnrollGateTest, OneGoodFacePasses) {
  const GateVerdict v = ChooseEnrollFace({MakeFace(kBig, 0.99f)}, std::nullopt, false, {});
  EXPECT_EQ(v.face, 0);
}

TEST(EnrollGateTest, NoFaceAndSeveralFacesAreRejected) {
  GateVerdict v = ChooseEnrollFace({}, std::nullopt, false, {});
  EXPECT_EQ(v.face, -1);
  EXPECT_EQ(v.rejection.rule, "no_face");
  v = ChooseEnrollFace({MakeFace(kSmall, 0.99f), MakeFace(kBig, 0.99f)}, std::nullopt, false, {});
  EXPECT_EQ(v.rejection.rule, "one_face");
  EXPECT_EQ(v.rejection.value, 2);
  // largest, or a box, chooses one.
  v = ChooseEnrollFace({MakeFace(kSmall, 0.99f), MakeFace(kBig, 0.99f)}, std::nullopt, true, {});
  EXPECT_EQ(v.face, 1);
  EnrollGateConfig small_ok;
  small_ok.min_face_px = 0;
  v = ChooseEnrollFace({MakeFace(kSmall, 0.99f), MakeFace(kBig, 0.99f)}, Box{12, 8, 52, 58}, false,
                       small_ok);
  EXPECT_EQ(v.face, 0);
  v = ChooseEnrollFace({MakeFace(kBig, 0.99f)}, Box{600, 600, 700, 700}, false, {});
  EXPECT_EQ(v.rejection.rule, "box_no_face");
}

TEST(EnrollGateTest, EachQualityRuleNamesItsValueAndLimit) {
  GateVerdict v = ChooseEnrollFace({MakeFace(kBig, 0.99f, /*truncated=*/true)}, std::nullopt, false, {});
  EXPECT_EQ(v.rejection.rule, "truncated");
  v = ChooseEnrollFace({MakeFace(kSmall, 0.99f)}, std::nullopt, false, {});
  EXPECT_EQ(v.rejection.rule, "min_face_px");
  EXPECT_EQ(v.rejection.value, 40);
  EXPECT_EQ(v.rejection.limit, 64);
  v = ChooseEnrollFace({MakeFace(kBig, 0.8f)}, std::nullopt, false, {});
  EXPECT_EQ(v.rejection.rule, "min_detection_score");
  EXPECT_FLOAT_EQ(v.rejection.value, 0.8f);
  EnrollGateConfig lenient;
  lenient.reject_truncated = false;
  EXPECT_EQ(ChooseEnrollFace({MakeFace(kBig, 0.99f, true)}, std::nullopt, false, lenient).face, 0);
}

TEST(EnrollGateTest, TheAntiSpoofRuleReadsTheConfiguredPredictor) {
  EnrollGateConfig gate;
  gate.antispoof_predictor = "antispoof";
  EXPECT_EQ(ChooseEnrollFace({MakeFace(kBig, 0.99f, false, 0.9f)}, std::nullopt, false, gate).face, 0);
  GateVerdict v = ChooseEnrollFace({MakeFace(kBig, 0.99f, false, 0.2f)}, std::nullopt, false, gate);
  EXPECT_EQ(v.rejection.rule, "antispoof");
  EXPECT_FLOAT_EQ(v.rejection.value, 0.2f);
  // The predictor did not run on the face: rejected, not waved through.
  v = ChooseEnrollFace({MakeFace(kBig, 0.99f)}, std::nullopt, false, gate);
  EXPECT_EQ(v.rejection.rule, "antispoof");
}

}  // namespace
}  // namespace faceserve
