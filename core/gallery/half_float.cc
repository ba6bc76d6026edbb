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


__attribute__((target("avx2,f16c"))) void FloatsToHalvesF16c(const float* in, size_t n,
                                                              uint16_t* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = FloatToHalf(in[i]);
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
  if (HalvesInHardware()) {
    FloatsToHalvesF16c(in, n, out);
    return;
  }
#endif
  for (size_t i = 0; i < n; ++i) out[i] = FloatToHalf(in[i]);
}

bool HalvesInHardware() {
#if defined(__x86_64__)
  static const bool has =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && CpuidHasF16c();
  return has;
#else
  return false;
#endif
}

}  // namespace faceserve
