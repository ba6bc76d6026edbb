#include "core/tracking/assignment.h"

#include <vector>

#include "gtest/gtest.h"

namespace faceserve {
namespace {

using Matrix = std::vector<std::vector<double>>;

TEST(AssignmentTest, FindsTheLeastTotalCost) {
  // By hand: r0-c1 (1) + r1-c0 (2) + r2-c2 (2) = 5; every other way costs more
  // (e.g. the diagonal 4 + 0 + 2 = 6).
  const Matrix cost = {{4, 1, 3}, {2, 0, 5}, {3, 2, 2}};
  EXPECT_EQ(SolveAssignment(cost, 100), (std::vector<int>{1, 0, 2}));
}

TEST(AssignmentTest, NeverPairsAboveTheLimit) {
  EXPECT_EQ(SolveAssignment({{0.1, 0.9}}, 0.5), (std::vector<int>{0}));
  EXPECT_EQ(SolveAssignment({{0.9}}, 0.5), (std::vector<int>{-1}));
  EXPECT_EQ(SolveAssignment({{0.6, 0.7}, {0.8, 0.2}}, 0.5), (std::vector<int>{-1, 1}));
}

TEST(AssignmentTest, RectangularBothWays) {
  EXPECT_EQ(SolveAssignment({{5, 1, 9}, {1, 5, 9}}, 10), (std::vector<int>{1, 0}));
  EXPECT_EQ(SolveAssignment({{5, 1}, {1, 5}, {0, 0}}, 10).size(), 3u);
  const std::vector<int> three_rows = SolveAssignment({{5, 1}, {1, 5}, {3, 3}}, 10);
  EXPECT_EQ(three_rows, (std::vector<int>{1, 0, -1}));
  EXPECT_TRUE(SolveAssignment({}, 1).empty());
  EXPECT_EQ(SolveAssignment({{}, {}}, 1), (std::vector<int>{-1, -1}));
}

TEST(AssignmentTest, TheCostOfLeavingOutDecidesBetweenMorePairsAndCheaperOnes) {
  // r0-c0 alone costs 0.1; r0-c1 with r1-c0 makes two pairs for 0.8
  // (r1-c1 is over the limit).
  const Matrix cost = {{0.1, 0.4}, {0.4, 0.99}};
  // Leaving a pair out costs 0.5: one pair (0.1 + 0.5) is cheaper than two.
  EXPECT_EQ(SolveAssignment(cost, 0.5), (std::vector<int>{0, -1}));
  // Leaving a pair out costs more than every pair together: two pairs.
  EXPECT_EQ(SolveAssignment(cost, 0.5, 3.0), (std::vector<int>{1, 0}));
}

TEST(AssignmentTest, NegativeCostsMaximiseAGain) {
  // The identity metrics' use: cost = -frames in common, any pair allowed.
  const Matrix cost = {{-10, -9}, {-9, 0}};
  EXPECT_EQ(SolveAssignment(cost, 0), (std::vector<int>{1, 0}));  // 18 > 10
}

}  // namespace
}  // namespace faceserve
