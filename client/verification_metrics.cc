#include "client/verification_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace faceserve::client {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::optional<double> CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.empty() || a.size() != b.size()) return std::nullopt;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  if (na <= 0 || nb <= 0) return std::nullopt;
  return dot / (std::sqrt(na) * std::sqrt(nb));
}

double AccuracyAtThreshold(const std::vector<ScoredPair>& pairs, double threshold) {
  if (pairs.empty()) return kNaN;
  size_t correct = 0;
  for (const ScoredPair& p : pairs) {
    if ((p.similarity >= threshold) == p.same) ++correct;
  }
  return static_cast<double>(correct) / pairs.size();
}

ThresholdAccuracy FindBestAccuracy(const std::vector<ScoredPair>& pairs) {
  if (pairs.empty()) return {0, kNaN};
  std::vector<ScoredPair> sorted = pairs;
  std::sort(sorted.begin(), sorted.end(),
            [](const ScoredPair& x, const ScoredPair& y) { return x.similarity < y.similarity; });
  const size_t n = sorted.size();
  size_t positives = 0;
  for (const ScoredPair& p : sorted) positives += p.same ? 1 : 0;

  // Threshold at sorted[i].similarity (the first of its group of ties):
  // everything from i on is a match. correct = negatives below i + positives
  // from i on.
  size_t negatives_below = 0, positives_below = 0;
  ThresholdAccuracy best{sorted[0].similarity, -1};
  for (size_t i = 0; i < n;) {
    const double correct = static_cast<double>(negatives_below + (positives - positives_below));
    const double accuracy = correct / n;
    if (accuracy > best.accuracy) {
      best.accuracy = accuracy;
      best.threshold =
          i == 0 ? sorted[0].similarity : (sorted[i - 1].similarity + sorted[i].similarity) / 2;
    }
    // Skip the group of ties.
    const double s = sorted[i].similarity;
    while (i < n && sorted[i].similarity == s) {
      (sorted[i].same ? positives_below : negatives_below) += 1;
      ++i;
    }
  }
  // Above every similarity: nothing matches.
  const double reject_all = static_cast<double>(n - positives) / n;
  if (reject_all > best.accuracy) {
    best.accuracy = reject_all;
    best.threshold = std::nextafter(sorted[n - 1].similarity, std::numeric_limits<double>::infinity());
  }
  return best;
}

CrossValidatedAccuracy KFoldAccuracy(const std::vector<ScoredPair>& pairs, int folds) {
  CrossValidatedAccuracy result{folds, kNaN, kNaN};
  if (folds < 2 || pairs.size() < static_cast<size_t>(folds)) return result;
  std::vector<double> accuracies;
  for (int f = 0; f < folds; ++f) {
    std::vector<ScoredPair> train, test;
    for (size_t i = 0; i < pairs.size(); ++i) {
      (static_cast<int>(i % folds) == f ? test : train).push_back(pairs[i]);
    }
    accuracies.push_back(AccuracyAtThreshold(test, FindBestAccuracy(train).threshold));
  }
  double sum = 0, squares = 0;
  for (double a : accuracies) sum += a;
  result.mean = sum / folds;
  for (double a : accuracies) squares += (a - result.mean) * (a - result.mean);
  result.stddev = std::sqrt(squares / folds);
  return result;
}

double RocAuc(const std::vector<ScoredPair>& pairs) {
  std::vector<ScoredPair> sorted = pairs;
  std::sort(sorted.begin(), sorted.end(),
            [](const ScoredPair& x, const ScoredPair& y) { return x.similarity < y.similarity; });
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  double positive_rank_sum = 0;
  size_t positives = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j].similarity == sorted[i].similarity) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (sorted[k].same) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    }
    i = j;
  }
  const size_t negatives = sorted.size() - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  const double p = static_cast<double>(positives);
  const double u = positive_rank_sum - p * (p + 1) / 2;
  return u / (p * static_cast<double>(negatives));
}

TarAtFar ComputeTarAtFar(const std::vector<ScoredPair>& pairs, double far_target) {
  TarAtFar result;
  result.far_target = far_target;
  std::vector<double> negatives, positives;
  for (const ScoredPair& p : pairs) (p.same ? positives : negatives).push_back(p.similarity);
  result.negatives = negatives.size();
  std::sort(negatives.begin(), negatives.end(), std::greater<double>());

  if (negatives.empty()) {
    result.threshold = kNaN;
    result.tar = kNaN;
    result.far = kNaN;
    return result;
  }
  // The small epsilon keeps e.g. 0.29 * 100 = 28.999999999999996 at 29.
  const double wanted = std::max(0.0, far_target) * static_cast<double>(negatives.size());
  const size_t k = static_cast<size_t>(std::floor(wanted + 1e-9));
  if (k >= negatives.size()) {
    result.threshold = std::nextafter(negatives.back(), -std::numeric_limits<double>::infinity());
  } else {
    result.threshold = negatives[k];
  }
  size_t accepted_negatives = 0;
  for (double s : negatives) accepted_negatives += s > result.threshold ? 1 : 0;
  result.far = static_cast<double>(accepted_negatives) / negatives.size();
  if (positives.empty()) {
    result.tar = kNaN;
  } else {
    size_t accepted = 0;
    for (double s : positives) accepted += s > result.threshold ? 1 : 0;
    result.tar = static_cast<double>(accepted) / positives.size();
  }
  return result;
}

}  // namespace faceserve::client
