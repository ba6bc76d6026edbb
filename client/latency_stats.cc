#include "client/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace faceserve::client {

double Percentile(const std::vector<double>& sorted_samples, double p) {
  const size_t n = sorted_samples.size();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  p = std::clamp(p, 0.0, 100.0);
  // The epsilon keeps exact ranks exact (e.g. 0.9 * 10 -> 9, not 9.000000001).
  double rank = std::ceil(p / 100.0 * static_cast<double>(n) - 1e-9);
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted_samples[std::min(index, n - 1)];
}

LatencySummary Summarize(std::vector<double> samples) {
  LatencySummary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
  s.min = samples.front();
  s.max = samples.back();
  s.p50 = Percentile(samples, 50);
  s.p90 = Percentile(samples, 90);
  s.p99 = Percentile(samples, 99);
  return s;
}

void LatencyRecorder::Add(double sample) {
  std::lock_guard<std::mutex> lock(mu_);
  samples_.push_back(sample);
}

std::vector<double> LatencyRecorder::Samples() const {
  std::lock_guard<std::mutex> lock(mu_);
  return samples_;
}

LatencySummary LatencyRecorder::Summary() const { return Summarize(Samples()); }

}  // namespace faceserve::client
