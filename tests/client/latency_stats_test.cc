#include "client/latency_stats.h"

#include <cmath>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace faceserve::client {
namespace {

TEST(PercentileTest, NearestRankOnTenSamples) {
  const std::vector<double> s = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_DOUBLE_EQ(Percentile(s, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(s, 10), 1);   // ceil(1.0) = rank 1
  EXPECT_DOUBLE_EQ(Percentile(s, 11), 2);
  EXPECT_DOUBLE_EQ(Percentile(s, 50), 5);   // rank 5
  EXPECT_DOUBLE_EQ(Percentile(s, 90), 9);   // rank 9, not 10
  EXPECT_DOUBLE_EQ(Percentile(s, 99), 10);  // ceil(9.9) = 10
  EXPECT_DOUBLE_EQ(Percentile(s, 100), 10);
}

TEST(PercentileTest, HundredSamplesHitExactRanks) {
  std::vector<double> s;
  for (int i = 1; i <= 100; ++i) s.push_back(i);
  EXPECT_DOUBLE_EQ(Percentile(s, 50), 50);
  EXPECT_DOUBLE_EQ(Percentile(s, 90), 90);
  EXPECT_DOUBLE_EQ(Percentile(s, 99), 99);
}

TEST(PercentileTest, SingleAndNoSamples) {
  EXPECT_DOUBLE_EQ(Percentile({7}, 50), 7);
  EXPECT_DOUBLE_EQ(Percentile({7}, 99), 7);
  EXPECT_TRUE(std::isnan(Percentile({}, 50)));
}

TEST(SummarizeTest, SortsUnsortedSamples) {
  const LatencySummary s = Summarize({30, 10, 20, 40});
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.min, 10);
  EXPECT_DOUBLE_EQ(s.max, 40);
  EXPECT_DOUBLE_EQ(s.mean, 25);
  EXPECT_DOUBLE_EQ(s.p50, 20);
  EXPECT_DOUBLE_EQ(s.p90, 40);
  EXPECT_DOUBLE_EQ(s.p99, 40);
}

TEST(SummarizeTest, EmptyIsAllZero) {
  const LatencySummary s = Summarize({});
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.p99, 0);
}

TEST(LatencyRecorderTest, CollectsFromManyThreads) {
  LatencyRecorder recorder;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&recorder] {
      for (int i = 1; i <= 1000; ++i) recorder.Add(i);
    });
  }
  for (auto& t : threads) t.join();
  const LatencySummary s = recorder.Summary();
  EXPECT_EQ(s.count, 8000u);
  EXPECT_DOUBLE_EQ(s.p50, 500);
  EXPECT_DOUBLE_EQ(s.max, 1000);
}

}  // namespace
}  // namespace faceserve::client
