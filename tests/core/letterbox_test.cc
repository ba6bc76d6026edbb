// MakeLetterbox: face-api's pad-to-square, and the larger canvas of the
// detector's zoom-out pass.
#include "core/letterbox.h"

#include <gtest/gtest.h>

namespace faceserve {
namespace {

TEST(LetterboxTest, TopLeftSquareOfTheLongerSide) {
  const Letterbox box = MakeLetterbox(200, 100, /*center=*/false);
  EXPECT_EQ(box.side, 200);
  EXPECT_EQ(box.left, 0);
  EXPECT_EQ(box.top, 0);
}

TEST(LetterboxTest, CenterSplitsThePaddingLikeFaceApi) {
  // 101 rows of padding: face-api appends round(50.5) = 51 and prepends 50.
  const Letterbox box = MakeLetterbox(300, 199, /*center=*/true);
  EXPECT_EQ(box.side, 300);
  EXPECT_EQ(box.left, 0);
  EXPECT_EQ(box.top, 50);
}

TEST(LetterboxTest, ACanvasScaleGrowsTheSquareAndPadsBothAxes) {
  const Letterbox top_left = MakeLetterbox(200, 100, /*center=*/false, 2.5f);
  EXPECT_EQ(top_left.side, 500);
  EXPECT_EQ(top_left.left, 0);
  EXPECT_EQ(top_left.top, 0);
  const Letterbox centred = MakeLetterbox(200, 100, /*center=*/true, 2.5f);
  EXPECT_EQ(centred.side, 500);
  EXPECT_EQ(centred.left, 150);  // 300 columns of padding: 150 before, 150 after
  EXPECT_EQ(centred.top, 200);   // 400 rows: 200 and 200
  // Rounded to whole pixels; a scale below 1 is 1.
  EXPECT_EQ(MakeLetterbox(3, 2, false, 1.5f).side, 5);  // 4.5 -> 5
  EXPECT_EQ(MakeLetterbox(30, 20, false, 0.5f).side, 30);
}

}  // namespace
}  // namespace faceserve
