// Latency percentiles for facectl bench.
//
// Percentiles use the nearest-rank method: the p-th percentile of n samples is
// the smallest sample such that at least p% of the samples are <= it, i.e.
// sorted[ceil(p / 100 * n) - 1] (sorted[0] for p = 0). Every reported value is
// therefore a latency that was actually observed.
//
// LatencyRecorder is thread-safe; the free functions are pure.
#ifndef FACESERVE_CLIENT_LATENCY_STATS_H_
#define FACESERVE_CLIENT_LATENCY_STATS_H_

#include <cstddef>
#include <mutex>
#include <vector>

namespace faceserve::client {

// The p-th percentile (p in [0, 100]) of ascending-sorted samples by nearest
// rank; NaN when there are none.
double Percentile(const std::vector<double>& sorted_samples, double p);

struct LatencySummary {
  std::size_t count = 0;
  double mean = 0;  // NaN-free: every field is 0 when count is 0
  double min = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

// Summary of unsorted samples (any unit; facectl uses milliseconds).
LatencySummary Summarize(std::vector<double> samples);

// Collects samples from many threads.
class LatencyRecorder {
 public:
  void Add(double sample);
  // A copy of the samples so far, in insertion order.
  std::vector<double> Samples() const;
  LatencySummary Summary() const;

 private:
  mutable std::mutex mu_;
  std::vector<double> samples_;  // guarded by mu_
};

}  // namespace faceserve::client

#endif  // FACESERVE_CLIENT_LATENCY_STATS_H_
