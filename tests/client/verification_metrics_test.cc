#include "client/verification_metrics.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace faceserve::client {
namespace {

std::vector<ScoredPair> Pairs(std::vector<double> pos, std::vector<double> neg) {
  std::vector<ScoredPair> out;
  for (double s : pos) out.push_back({s, true});
  for (double s : neg) out.push_back({s, false});
  return out;
}

TEST(CosineSimilarityTest, ParallelOrthogonalOppositeAndUnnormalised) {
  EXPECT_DOUBLE_EQ(*CosineSimilarity({1, 0}, {2, 0}), 1.0);
  EXPECT_DOUBLE_EQ(*CosineSimilarity({1, 0}, {0, 3}), 0.0);
  EXPECT_DOUBLE_EQ(*CosineSimilarity({1, 1}, {-1, -1}), -1.0);
  EXPECT_NEAR(*CosineSimilarity({1, 0}, {1, 1}), std::sqrt(0.5), 1e-12);
}

TEST(CosineSimilarityTest, RejectsMismatchedEmptyAndZeroVectors) {
  EXPECT_FALSE(CosineSimilarity({1, 0}, {1, 0, 0}).has_value());
  EXPECT_FALSE(CosineSimilarity({}, {}).has_value());
  EXPECT_FALSE(CosineSimilarity({0, 0}, {1, 0}).has_value());
}

TEST(AccuracyTest, MatchIsSimilarityAtLeastThreshold) {
  const auto pairs = Pairs({0.9, 0.5}, {0.5, 0.1});
  // At 0.5 both 0.5s match: the positive right, the negative wrong -> 3/4.
  EXPECT_DOUBLE_EQ(AccuracyAtThreshold(pairs, 0.5), 0.75);
  EXPECT_DOUBLE_EQ(AccuracyAtThreshold(pairs, 0.6), 0.75);
  EXPECT_DOUBLE_EQ(AccuracyAtThreshold(pairs, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(AccuracyAtThreshold(pairs, 1.0), 0.5);
  EXPECT_TRUE(std::isnan(AccuracyAtThreshold({}, 0.5)));
}

TEST(KFoldAccuracyTest, SeparableScoresAreOneInEveryFold) {
  std::vector<ScoredPair> pairs;
  for (int i = 0; i < 40; ++i) pairs.push_back({i % 2 ? 0.9 + i * 1e-3 : 0.1 + i * 1e-3, i % 2 == 1});
  const CrossValidatedAccuracy cv = KFoldAccuracy(pairs, 10);
  EXPECT_EQ(cv.folds, 10);
  EXPECT_DOUBLE_EQ(cv.mean, 1.0);
  EXPECT_DOUBLE_EQ(cv.stddev, 0.0);
}

TEST(KFoldAccuracyTest, ThresholdComesFromTheOtherFolds) {
  // Two folds. Fold 0 (even indices): negatives at 0.2, positives at 0.6.
  // Fold 1 (odd indices): negatives at 0.5, positives at 0.8. Trained on fold
  // 1 the threshold lies between 0.5 and 0.8 (0.65), so fold 0's positives at
  // 0.6 are rejected: accuracy 1/2. Trained on fold 0 the threshold is 0.4,
  // so fold 1's negatives at 0.5 are accepted: accuracy 1/2.
  const std::vector<ScoredPair> pairs = {{0.2, false}, {0.5, false}, {0.6, true}, {0.8, true}};
  const CrossValidatedAccuracy cv = KFoldAccuracy(pairs, 2);
  EXPECT_DOUBLE_EQ(cv.mean, 0.5);
  EXPECT_DOUBLE_EQ(cv.stddev, 0.0);
  // Best accuracy on all four pairs is 1 (threshold 0.55): the optimism the
  // folds remove.
  EXPECT_DOUBLE_EQ(FindBestAccuracy(pairs).accuracy, 1.0);
}

TEST(KFoldAccuracyTest, TooFewPairsOrFoldsIsNaN) {
  EXPECT_TRUE(std::isnan(KFoldAccuracy({{0.1, false}}, 10).mean));
  EXPECT_TRUE(std::isnan(KFoldAccuracy({{0.1, false}, {0.9, true}}, 1).mean));
}

TEST(BestAccuracyTest, PerfectlySeparatedGivesOneWithThresholdInTheGap) {
  const auto pairs = Pairs({0.8, 0.9, 0.7}, {0.1, 0.3, 0.2});
  const ThresholdAccuracy best = FindBestAccuracy(pairs);
  EXPECT_DOUBLE_EQ(best.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(best.threshold, 0.5);  // midpoint of 0.3 and 0.7
  EXPECT_DOUBLE_EQ(AccuracyAtThreshold(pairs, best.threshold), 1.0);
}

TEST(BestAccuracyTest, OverlappingScoresHandComputed) {
  // Sorted: 0.1n 0.2p 0.3n 0.4p 0.5p 0.6n. Thresholds (match >= t):
  // 0.1 -> 3/6, 0.2 -> 4/6, 0.3 -> 3/6, 0.4 -> 4/6, 0.5 -> 3/6, 0.6 -> 2/6, above -> 3/6.
  // Best 4/6, lowest such threshold: between 0.1 and 0.2.
  const auto pairs = Pairs({0.2, 0.4, 0.5}, {0.1, 0.3, 0.6});
  const ThresholdAccuracy best = FindBestAccuracy(pairs);
  EXPECT_DOUBLE_EQ(best.accuracy, 4.0 / 6);
  EXPECT_DOUBLE_EQ(best.threshold, 0.15);
}

TEST(BestAccuracyTest, TiesAcrossClassesMoveTogether) {
  // The 0.5 pair of each class cannot be split by any threshold.
  const auto pairs = Pairs({0.5, 0.9}, {0.5, 0.1});
  const ThresholdAccuracy best = FindBestAccuracy(pairs);
  EXPECT_DOUBLE_EQ(best.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(AccuracyAtThreshold(pairs, best.threshold), 0.75);
}

TEST(BestAccuracyTest, AllNegativesRejectsEverything) {
  const auto pairs = Pairs({}, {0.2, 0.4});
  const ThresholdAccuracy best = FindBestAccuracy(pairs);
  EXPECT_DOUBLE_EQ(best.accuracy, 1.0);
  EXPECT_GT(best.threshold, 0.4);
  EXPECT_DOUBLE_EQ(AccuracyAtThreshold(pairs, best.threshold), 1.0);
}

TEST(RocAucTest, PerfectlySeparatedIsOne) {
  EXPECT_DOUBLE_EQ(RocAuc(Pairs({0.7, 0.8, 0.9}, {0.1, 0.2})), 1.0);
}

TEST(RocAucTest, ReversedIsZero) {
  EXPECT_DOUBLE_EQ(RocAuc(Pairs({0.1, 0.2}, {0.7, 0.8, 0.9})), 0.0);
}

TEST(RocAucTest, AllTiedIsOneHalf) {
  EXPECT_DOUBLE_EQ(RocAuc(Pairs({0.5, 0.5}, {0.5, 0.5, 0.5})), 0.5);
}

TEST(RocAucTest, PartialOverlapWithTiesHandComputed) {
  // Positives {0.3, 0.6, 0.9}, negatives {0.3, 0.5}. Positive-negative
  // comparisons: 0.3 vs 0.3 tie (0.5), 0.3 < 0.5 (0); 0.6 beats both (2);
  // 0.9 beats both (2). AUC = 4.5 / 6.
  EXPECT_DOUBLE_EQ(RocAuc(Pairs({0.3, 0.6, 0.9}, {0.3, 0.5})), 4.5 / 6);
}

TEST(RocAucTest, OneClassMissingIsNaN) {
  EXPECT_TRUE(std::isnan(RocAuc(Pairs({0.1, 0.2}, {}))));
  EXPECT_TRUE(std::isnan(RocAuc(Pairs({}, {0.1}))));
  EXPECT_TRUE(std::isnan(RocAuc({})));
}

TEST(TarAtFarTest, ThresholdIsTheSimilarityAboveWhichTheFractionOfNegativesLies) {
  // 100 negatives 0.00, 0.01, ..., 0.99; FAR 1e-2 -> one negative (0.99) above
  // the threshold 0.98. Positives: 0.5 (rejected), 0.985, 0.99 (tie with the
  // accepted negative's value, still above 0.98), 1.0 -> TAR 3/4.
  std::vector<double> neg;
  for (int i = 0; i < 100; ++i) neg.push_back(i / 100.0);
  const auto pairs = Pairs({0.5, 0.985, 0.99, 1.0}, neg);
  const TarAtFar r = ComputeTarAtFar(pairs, 1e-2);
  EXPECT_DOUBLE_EQ(r.threshold, 0.98);
  EXPECT_DOUBLE_EQ(r.far, 0.01);
  EXPECT_DOUBLE_EQ(r.tar, 0.75);
  EXPECT_EQ(r.negatives, 100u);

  // FAR 1e-1: ten negatives (0.90..0.99) above 0.89.
  const TarAtFar r10 = ComputeTarAtFar(pairs, 0.1);
  EXPECT_DOUBLE_EQ(r10.threshold, 0.89);
  EXPECT_DOUBLE_EQ(r10.far, 0.1);
  EXPECT_DOUBLE_EQ(r10.tar, 0.75);
}

TEST(TarAtFarTest, TooFewNegativesForTheFarMeansZeroFar) {
  // 1e-3 of 100 negatives is 0.1 -> no negative may pass: threshold = the
  // highest negative.
  std::vector<double> neg;
  for (int i = 0; i < 100; ++i) neg.push_back(i / 100.0);
  const TarAtFar r = ComputeTarAtFar(Pairs({0.5, 0.995, 1.0}, neg), 1e-3);
  EXPECT_DOUBLE_EQ(r.threshold, 0.99);
  EXPECT_DOUBLE_EQ(r.far, 0.0);
  EXPECT_DOUBLE_EQ(r.tar, 2.0 / 3);
}

TEST(TarAtFarTest, FarOneAcceptsEveryNegative) {
  // The threshold sits just below the lowest negative (0.3): 0.2 stays out.
  const TarAtFar r = ComputeTarAtFar(Pairs({0.2, 0.3, 0.5}, {0.3, 0.4}), 1.0);
  EXPECT_DOUBLE_EQ(r.far, 1.0);
  EXPECT_DOUBLE_EQ(r.tar, 2.0 / 3);
  EXPECT_LT(r.threshold, 0.3);
}

TEST(TarAtFarTest, NoNegativesOrNoPositivesGiveNaN) {
  EXPECT_TRUE(std::isnan(ComputeTarAtFar(Pairs({0.5}, {}), 1e-2).tar));
  const TarAtFar r = ComputeTarAtFar(Pairs({}, {0.5, 0.6}), 0.5);
  EXPECT_TRUE(std::isnan(r.tar));
  EXPECT_DOUBLE_EQ(r.far, 0.5);
}

}  // namespace
}  // namespace faceserve::client
