#include "core/gallery/dot_distance.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <cstdint>

#include "core/gallery/half_float.h"

namespace faceserve {
namespace {

inline float Identity(float v) { return v; }

// 1 - sum of x[d] * y[d] over eight running sums (vectorised without
// -ffast-math, near the AVX2 code's order of sums).
template <typename T, float (*ToFloat)(T)>
float PortableDistance(const void* a, const void* b, const void* dimension) {
  const auto* x = static_cast<const T*>(a);
  const auto* y = static_cast<const T*>(b);
  const size_t n = *static_cast<const size_t*>(dimension);
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t d = 0;
  for (; d + 8 <= n; d += 8) {
    for (size_t j = 0; j < 8; ++j) acc[j] += ToFloat(x[d + j]) * ToFloat(y[d + j]);
  }
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; d < n; ++d) sum += ToFloat(x[d]) * ToFloat(y[d]);
  return 1.0f - sum;
}

#if defined(__x86_64__)
// 1 - the sum of the 16 lanes of two running sums.
__attribute__((target("avx2"))) inline float OneMinusLaneSum(__m256 s0, __m256 s1) {
  const __m256 s = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return 1.0f - _mm_cvtss_f32(h);
}

__attribute__((target("avx2"))) inline __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }

__attribute__((target("avx2,f16c"))) inline __m256 Load8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// n a multiple of 16.
__attribute__((target("avx2,fma"))) float FloatDistanceAvx2(const void* a, const void* b,
                                                            const void* dimension) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  const size_t n = *static_cast<const size_t*>(dimension);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (size_t d = 0; d < n; d += 16) {
    s0 = _mm256_fmadd_ps(Load8(x + d), Load8(y + d), s0);
    s1 = _mm256_fmadd_ps(Load8(x + d + 8), Load8(y + d + 8), s1);
  }
  return OneMinusLaneSum(s0, s1);
}

__attribute__((target("avx2,fma,f16c"))) float HalfDistanceAvx2(const void* a, const void* b,
                                                                const void* dimension) {
  const auto* x = static_cast<const uint16_t*>(a);
  const auto* y = static_cast<const uint16_t*>(b);
  const size_t n = *static_cast<const size_t*>(dimension);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (size_t d = 0; d < n; d += 16) {
    s0 = _mm256_fmadd_ps(Load8(x + d), Load8(y + d), s0);
    s1 = _mm256_fmadd_ps(Load8(x + d + 8), Load8(y + d + 8), s1);
  }
  return OneMinusLaneSum(s0, s1);
}
#endif

}  // namespace

float DotDistancePortable(const void* a, const void* b, const void* dimension) {
  return PortableDistance<float, &Identity>(a, b, dimension);
}

float HalfDotDistancePortable(const void* a, const void* b, const void* dimension) {
  return PortableDistance<uint16_t, &HalfToFloat>(a, b, dimension);
}

DotDistanceFunction BestDotDistance(size_t dimension, bool half) {
#if defined(__x86_64__)
  if (dimension % 16 == 0) {
    if (half && HalvesInHardware()) return &HalfDistanceAvx2;
    if (!half && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      return &FloatDistanceAvx2;
    }
  }
#endif
  return half ? &HalfDotDistancePortable : &DotDistancePortable;
}

}  // namespace faceserve
