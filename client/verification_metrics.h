// Face-verification metrics over scored pairs: accuracy at a threshold, the
// best accuracy over all thresholds, ROC AUC, and TAR at a given FAR. Pure
// maths, no gRPC; every function is a pure function of its arguments and is
// thread-safe.
//
// Conventions:
//  * A pair is declared a match when similarity >= threshold (as the server's
//    Verify does) in AccuracyAtThreshold and FindBestAccuracy.
//  * TAR@FAR follows the FaceX-Zoo / insightface protocol: the threshold is the
//    similarity above which (strictly) the given fraction of negative pairs
//    lie, i.e. with negatives sorted in descending order and
//    k = floor(far * negatives), threshold = negatives_desc[k]; a pair is
//    accepted when similarity > threshold. The achieved FAR is <= far (less
//    when there are ties or far * negatives is not an integer).
#ifndef FACESERVE_CLIENT_VERIFICATION_METRICS_H_
#define FACESERVE_CLIENT_VERIFICATION_METRICS_H_

#include <cstddef>
#include <optional>
#include <vector>

namespace faceserve::client {

// One evaluated pair: the similarity of its two faces and its ground truth.
struct ScoredPair {
  double similarity = 0;
  bool same = false;  // true: both images show the same person
};

// Cosine similarity of two vectors of the same, non-zero length and non-zero
// norm; nullopt otherwise.
std::optional<double> CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b);

// Fraction of pairs classified correctly with "match iff similarity >=
// threshold". NaN for no pairs.
double AccuracyAtThreshold(const std::vector<ScoredPair>& pairs, double threshold);

struct ThresholdAccuracy {
  double threshold = 0;
  double accuracy = 0;
};

// The threshold with the highest accuracy. Candidates are every distinct
// similarity (reported as the midpoint between it and the next lower distinct
// similarity, which classifies identically; the lowest is reported as itself)
// and "above every similarity" (reported as the highest similarity plus a
// tiny step). Among equally good thresholds the lowest wins. Accuracy NaN for
// no pairs.
ThresholdAccuracy FindBestAccuracy(const std::vector<ScoredPair>& pairs);

// The LFW protocol's k-fold accuracy: pair i belongs to fold i % folds (so a
// file grouped by source spreads each source over every fold); for each fold
// the threshold is FindBestAccuracy's on the other folds and the fold is
// scored with it. An honest estimate of accuracy on unseen pairs, unlike the
// best accuracy, which picks its threshold on the pairs it scores.
struct CrossValidatedAccuracy {
  int folds = 0;
  double mean = 0;    // mean of the fold accuracies (NaN when folds < 2 or too few pairs)
  double stddev = 0;  // population standard deviation of the fold accuracies
};
CrossValidatedAccuracy KFoldAccuracy(const std::vector<ScoredPair>& pairs, int folds = 10);

// Area under the ROC curve: the probability that a random positive pair scores
// higher than a random negative one, ties counting one half (Mann-Whitney U).
// NaN when there are no positives or no negatives.
double RocAuc(const std::vector<ScoredPair>& pairs);

struct TarAtFar {
  double far_target = 0;        // the FAR asked for
  double threshold = 0;         // accept iff similarity > threshold
  double tar = 0;               // fraction of positives accepted
  double far = 0;               // fraction of negatives accepted (<= far_target)
  std::size_t negatives = 0;    // how many negatives the FAR is computed over
};

// TAR at the given FAR (see the protocol above). tar and far are NaN when
// there are no positives or no negatives respectively; with far_target >= 1
// the threshold lies just below the lowest negative (every negative accepted).
TarAtFar ComputeTarAtFar(const std::vector<ScoredPair>& pairs, double far_target);

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_VERIFICATION_METRICS_H_
