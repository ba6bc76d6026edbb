#include "core/gallery/half_float.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include <cmath>
#include <cstring>

namespace faceserve {
namespace {

uint32_t BitsOf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

float FloatOf(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

#if defined(__x86_64__)
// F16C from CPUID leaf 1 (clang's __builtin_cpu_supports does not know it).
bool CpuidHasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
}

bool HasF16c() {
  static const bool has =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && CpuidHasF16c();
  return has;
}

__attribute__((target("avx2,f16c"))) void FloatsToHalvesF16c(const float* in, size_t n,
                                                              uint16_t* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = FloatToHalf(in[i]);
}

// Eight halves at `p` as floats.
__attribute__((target("avx2,f16c"))) inline __m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

__attribute__((target("avx2,fma,f16c"))) float HalfDotDistanceAvx2(const void* a, const void* b,
                                                                   const void* dimension) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  const size_t n = *static_cast<const size_t*>(dimension);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (size_t d = 0; d < n; d += 16) {
    s0 = _mm256_fmadd_ps(Load8(x + d), Load8(y + d), s0);
    s1 = _mm256_fmadd_ps(Load8(x + d + 8), Load8(y + d + 8), s1);
  }
  const __m256 s = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return 1.0f - _mm_cvtss_f32(h);
}
#endif

}  // namespace

uint16_t FloatToHalf(float value) {
  uint32_t x = BitsOf(value);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00u;       // NaN
  if (x >= 0x477ff000u) return sign | 0x7c00u;      // rounds to infinity (>= 65520)
  if (x < 0x38800000u) {                            // below 2^-14: subnormal or zero
    // The value in units of 2^-24, rounded to nearest even (the default
    // mode); 1024 there is the smallest normal half, encoded the same.
    return sign | static_cast<uint16_t>(std::nearbyint(FloatOf(x) * 16777216.0f));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 23-bit fraction
  // to 10 bits, to nearest even; a carry into the exponent is right.
  x += 0xc8000fffu + ((x >> 13) & 1u);
  return sign | static_cast<uint16_t>(x >> 13);
}

float HalfToFloat(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t fraction = half & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: fraction * 2^-24
    return FloatOf(sign | BitsOf(std::ldexp(static_cast<float>(fraction), -24)));
  }
  if (exponent == 31) return FloatOf(sign | 0x7f800000u | (fraction << 13));
  return FloatOf(sign | ((exponent + 112) << 23) | (fraction << 13));
}

void FloatsToHalves(const float* in, size_t n, uint16_t* out) {
#if defined(__x86_64__)
  if (HasF16c()) {
    FloatsToHalvesF16c(in, n, out);
    return;
  }
#endif
  for (size_t i = 0; i < n; ++i) out[i] = FloatToHalf(in[i]);
}

float HalfDotDistancePortable(const void* a, const void* b, const void* dimension) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  const size_t n = *static_cast<const size_t*>(dimension);
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // the AVX2 code's order of sums, near enough
  size_t d = 0;
  for (; d + 8 <= n; d += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += HalfToFloat(x[d + j]) * HalfToFloat(y[d + j]);
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; d < n; ++d) sum += HalfToFloat(x[d]) * HalfToFloat(y[d]);
  return 1.0f - sum;
}

HalfDistanceFunction BestHalfDotDistance(size_t dimension) {
#if defined(__x86_64__)
  if (dimension % 16 == 0 && HasF16c()) return &HalfDotDistanceAvx2;
#endif
  return &HalfDotDistancePortable;
}

}  // namespace faceserve
