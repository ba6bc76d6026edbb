// Half precision for the approximate index: conversions round to nearest
// even as IEEE 754 says (and as the F16C instructions do, which the batch
// form uses where the CPU has them), and a dot product of halves stays
// within the bound half_float.h promises.
#include "core/gallery/half_float.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/gallery/dot_distance.h"

namespace faceserve {
namespace {

TEST(HalfFloatTest, KnownValuesConvertAsIeeeSays) {
  EXPECT_EQ(FloatToHalf(0.0f), 0x0000);
  EXPECT_EQ(FloatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalf(0.1f), 0x2e66);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);                  // the largest half
  EXPECT_EQ(FloatToHalf(65519.0f), 0x7bff);                  // rounds down to it
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7c00);                  // the tie goes to infinity
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -14)), 0x0400);     // the smallest normal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);     // the smallest subnormal
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);     // a tie, to even: zero
  EXPECT_EQ(FloatToHalf(std::ldexp(3.0f, -25)), 0x0002);     // a tie, to even: 2
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // a tie, to even
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // a tie, to even
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(FloatToHalf(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(FloatToHalf(std::numeric_limits<float>::quiet_NaN()) & 0x7c00, 0x7c00);
  EXPECT_NE(FloatToHalf(std::numeric_limits<float>::quiet_NaN()) & 0x03ff, 0);
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7e00)));
}

TEST(HalfFloatTest, EveryHalfSurvivesTheRoundTrip) {
  for (uint32_t h = 0; h <= 0xffff; ++h) {
    const auto half = static_cast<uint16_t>(h);
    if (std::isnan(HalfToFloat(half))) continue;
    ASSERT_EQ(FloatToHalf(HalfToFloat(half)), half) << std::hex << h;
  }
}

TEST(HalfFloatTest, TheBatchFormAgreesWithTheScalarOneBitForBit) {
  // Random floats over the whole range of halves, midpoints between
  // neighbouring halves (the ties), and the odd length of a tail.
  std::mt19937 rng(5);
  std::vector<float> in;
  std::uniform_int_distribution<uint32_t> bits(0, 0xffffffffu);
  for (int i = 0; i < 200000; ++i) {
    uint32_t b = bits(rng);
    b = (b & 0x80000000u) | ((b & 0x7fffffffu) % 0x47900000u);  // below ~73728
    float f;
    std::memcpy(&f, &b, sizeof f);
    in.push_back(f);
  }
  for (uint32_t h = 0; h < 0x7bff; h += 7) {
    in.push_back((HalfToFloat(static_cast<uint16_t>(h)) +
                  HalfToFloat(static_cast<uint16_t>(h + 1))) / 2);
  }
  in.push_back(0.3f);
  std::vector<uint16_t> batch(in.size());
  FloatsToHalves(in.data(), in.size(), batch.data());
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(batch[i], FloatToHalf(in[i])) << in[i];
  }
}

TEST(HalfFloatTest, DotProductsOfHalvesStayWithinTheBound) {
  std::mt19937 rng(9);
  std::normal_distribution<float> n;
  constexpr size_t kDim = 128;
  const DotDistanceFunction best = BestDotDistance(kDim, /*half=*/true);
  double worst = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<float> a(kDim), b(kDim);
    float na = 0, nb = 0;
    for (size_t d = 0; d < kDim; ++d) {
      a[d] = n(rng);
      // Near-duplicates as well as strangers: the similarities that matter.
      b[d] = (trial % 2 ? a[d] : 0.0f) + n(rng);
      na += a[d] * a[d];
      nb += b[d] * b[d];
    }
    double exact = 0;
    for (size_t d = 0; d < kDim; ++d) {
      a[d] /= std::sqrt(na);
      b[d] /= std::sqrt(nb);
      exact += static_cast<double>(a[d]) * b[d];
    }
    std::vector<uint16_t> ha(kDim), hb(kDim);
    FloatsToHalves(a.data(), kDim, ha.data());
    FloatsToHalves(b.data(), kDim, hb.data());
    const size_t dim = kDim;
    const double fast = 1.0 - best(ha.data(), hb.data(), &dim);
    const double portable = 1.0 - HalfDotDistancePortable(ha.data(), hb.data(), &dim);
    ASSERT_NEAR(fast, portable, 1e-6);
    worst = std::max(worst, std::abs(fast - exact));
  }
  EXPECT_LT(worst, 2 * std::ldexp(1.0, -11));
  EXPECT_GT(worst, 0.0) << "halves that equal floats: nothing was rounded";
}

}  // namespace
}  // namespace faceserve
