// SameAnswer: whether an Analyze response carries the same faces as a
// reference answer to the same image, for tests that check that work done
// under load or shutdown came back whole.
#ifndef FACESERVE_TESTS_TESTING_SAME_ANSWER_H_
#define FACESERVE_TESTS_TESTING_SAME_ANSWER_H_

#include <cmath>

#include "faceserve/v1/face_service.pb.h"
#include "gtest/gtest.h"

namespace faceserve {
namespace testing {

// The same faces, each with the same predictions and boxes within a pixel
// (batch composition moves the floats a little).
inline ::testing::AssertionResult SameAnswer(const v1::AnalyzeResponse& got,
                                      const v1::AnalyzeResponse& want) {
  if (got.faces_size() != want.faces_size()) {
    return ::testing::AssertionFailure()
           << got.faces_size() << " faces, want " << want.faces_size();
  }
  for (int i = 0; i < got.faces_size(); ++i) {
    const v1::Face& g = got.faces(i);
    const v1::Face& w = want.faces(i);
    if (g.predictions_size() != w.predictions_size() ||
        g.landmarks_68_size() != w.landmarks_68_size() ||
        g.landmarks_5_size() != w.landmarks_5_size()) {
      return ::testing::AssertionFailure() << "face " << i << " is incomplete";
    }
    for (int p = 0; p < g.predictions_size(); ++p) {
      if (g.predictions(p).outputs_size() != w.predictions(p).outputs_size()) {
        return ::testing::AssertionFailure() << "face " << i << " prediction " << p;
      }
    }
    const float d = std::abs(g.box().x1() - w.box().x1()) + std::abs(g.box().y1() - w.box().y1()) +
                    std::abs(g.box().x2() - w.box().x2()) + std::abs(g.box().y2() - w.box().y2());
    if (d > 4.0f) return ::testing::AssertionFailure() << "face " << i << " box moved by " << d;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace testing
}  // namespace faceserve

#endif  // FACESERVE_TESTS_TESTING_SAME_ANSWER_H_
