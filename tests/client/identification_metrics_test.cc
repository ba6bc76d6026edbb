// The identification metrics on hand-made probes whose answers are counted
// by hand.
#include "client/identification_metrics.h"

#include <gtest/gtest.h>

namespace faceserve::client {
namespace {

ProbeResult Mated(std::string truth, std::vector<std::string> candidates,
                  std::vector<float> scores) {
  return ProbeResult{std::move(truth), true, std::move(candidates), std::move(scores)};
}
ProbeResult Stranger(float best) { return ProbeResult{"x", false, {"a"}, {best}}; }

TEST(IdentificationMetricsTest, RankKCountsMatedProbesOnly) {
  const std::vector<ProbeResult> probes = {
      Mated("a", {"a", "b"}, {0.9f, 0.5f}), Mated("b", {"a", "b"}, {0.8f, 0.7f}),
      Mated("c", {"a", "b"}, {0.6f, 0.5f}), Stranger(0.99f)};
  EXPECT_DOUBLE_EQ(*RankK(probes, 1), 1.0 / 3);
  EXPECT_DOUBLE_EQ(*RankK(probes, 2), 2.0 / 3);
  EXPECT_FALSE(RankK({Stranger(0.1f)}, 1).has_value());
}

TEST(IdentificationMetricsTest, TpirAtFpirPicksTheThresholdAboveTheAllowedStrangers) {
  std::vector<ProbeResult> probes;
  for (int i = 0; i < 10; ++i) probes.push_back(Stranger(0.1f * static_cast<float>(i)));  // 0 .. 0.9
  probes.push_back(Mated("a", {"a"}, {0.95f}));
  probes.push_back(Mated("b", {"b"}, {0.85f}));
  probes.push_back(Mated("c", {"a"}, {0.99f}));  // wrong at rank 1: never a true hit
  // FPIR 0.1 of 10 strangers: one may pass (0.9), so t just above 0.8.
  const OpenSetPoint p = TpirAtFpir(probes, 0.1);
  ASSERT_TRUE(p.threshold.has_value());
  EXPECT_GT(*p.threshold, 0.8f);
  EXPECT_LT(*p.threshold, 0.81f);
  EXPECT_DOUBLE_EQ(p.fpir, 0.1);
  EXPECT_DOUBLE_EQ(*p.tpir, 2.0 / 3);
  // FPIR 0.01 needs 100 strangers: not measurable with 10.
  EXPECT_FALSE(TpirAtFpir(probes, 0.01).threshold.has_value());
}

TEST(IdentificationMetricsTest, AtThresholdCountsBothSides) {
  const std::vector<ProbeResult> probes = {Mated("a", {"a"}, {0.7f}), Mated("b", {"b"}, {0.4f}),
                                           Stranger(0.6f), Stranger(0.2f)};
  const OperatingPoint op = AtThreshold(probes, 0.5f);
  EXPECT_DOUBLE_EQ(op.tpir, 0.5);
  EXPECT_DOUBLE_EQ(op.fpir, 0.5);
  EXPECT_EQ(op.mated, 2);
  EXPECT_EQ(op.non_mated, 2);
}

}  // namespace
}  // namespace faceserve::client
