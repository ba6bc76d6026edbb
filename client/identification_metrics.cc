#include "client/identification_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace faceserve::client {
namespace {

float BestScore(const ProbeResult& p) {
  return p.scores.empty() ? -std::numeric_limits<float>::infinity() : p.scores[0];
}

bool RightAtRankOne(const ProbeResult& p) {
  return !p.candidates.empty() && p.candidates[0] == p.truth;
}

}  // namespace

std::optional<double> RankK(const std::vector<ProbeResult>& probes, int k) {
  int mated = 0, hit = 0;
  for (const ProbeResult& p : probes) {
    if (!p.mated) continue;
    ++mated;
    const int n = std::min<int>(k, static_cast<int>(p.candidates.size()));
    if (std::find(p.candidates.begin(), p.candidates.begin() + n, p.truth) !=
        p.candidates.begin() + n) {
      ++hit;
    }
  }
  if (mated == 0) return std::nullopt;
  return static_cast<double>(hit) / mated;
}

OperatingPoint AtThreshold(const std::vector<ProbeResult>& probes, float threshold) {
  OperatingPoint op;
  int true_hits = 0, false_alarms = 0;
  for (const ProbeResult& p : probes) {
    const bool above = BestScore(p) >= threshold;
    if (p.mated) {
      ++op.mated;
      if (above && RightAtRankOne(p)) ++true_hits;
    } else {
      ++op.non_mated;
      if (above) ++false_alarms;
    }
  }
  if (op.mated > 0) op.tpir = static_cast<double>(true_hits) / op.mated;
  if (op.non_mated > 0) op.fpir = static_cast<double>(false_alarms) / op.non_mated;
  return op;
}

OpenSetPoint TpirAtFpir(const std::vector<ProbeResult>& probes, double target_fpir) {
  OpenSetPoint point;
  point.target_fpir = target_fpir;
  std::vector<float> non_mated;
  for (const ProbeResult& p : probes) {
    if (!p.mated) non_mated.push_back(BestScore(p));
  }
  const size_t n = non_mated.size();
  if (n == 0 || static_cast<double>(n) * target_fpir < 1.0 - 1e-9) return point;
  // At most floor(target * n) non-mated probes may score >= t: t just above
  // the (allowed + 1)-th highest non-mated score.
  std::sort(non_mated.begin(), non_mated.end(), std::greater<float>());
  const size_t allowed = static_cast<size_t>(std::floor(target_fpir * static_cast<double>(n) + 1e-9));
  const float threshold =
      allowed >= n ? -1.0f : std::nextafter(non_mated[allowed], std::numeric_limits<float>::max());
  const OperatingPoint op = AtThreshold(probes, threshold);
  point.threshold = threshold;
  point.fpir = op.fpir;
  if (op.mated > 0) point.tpir = op.tpir;
  return point;
}

}  // namespace faceserve::client
