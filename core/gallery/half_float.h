// Half precision (IEEE 754 binary16) copies of unit vectors, for the
// approximate index: a graph walk at a million faces is bound by memory
// reads, and halves read half the bytes of floats (issue 28). A component
// of a unit vector keeps 11 significant bits, so a dot product of two
// rounded unit vectors is within 2 * 2^-11 < 0.001 of the exact one
// (Cauchy-Schwarz), 1e-4 typically.
//
// The conversions round to nearest even, as the F16C instructions do; the
// batch forms use them when the CPU has them (chosen at run time: the build
// targets plain x86-64) and agree bit for bit with the portable code. The
// distance between two half vectors: dot_distance.h.
#ifndef FACESERVE_CORE_GALLERY_HALF_FLOAT_H_
#define FACESERVE_CORE_GALLERY_HALF_FLOAT_H_

#include <cstddef>
#include <cstdint>

namespace faceserve {

uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t half);

// `n` values at once, F16C when available.
void FloatsToHalves(const float* in, size_t n, uint16_t* out);

// Whether this CPU converts (and multiplies) halves in hardware: AVX2,
// FMA and F16C.
bool HalvesInHardware();

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_HALF_FLOAT_H_
