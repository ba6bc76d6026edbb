// The approximate index's distance: 1 - dot product of two unit vectors,
// stored as floats or as halves (half_float.h), in hnswlib's distance
// function type (a, b, const size_t* dimension). The fastest this CPU runs
// is chosen at run time (the build targets plain x86-64): AVX2 + FMA (+ F16C
// for halves) when the dimension is a multiple of 16, portable code else.
#ifndef FACESERVE_CORE_GALLERY_DOT_DISTANCE_H_
#define FACESERVE_CORE_GALLERY_DOT_DISTANCE_H_

#include <cstddef>

namespace faceserve {

using DotDistanceFunction = float (*)(const void*, const void*, const void*);

DotDistanceFunction BestDotDistance(size_t dimension, bool half);
// The portable ones (for tests against the fast ones).
float DotDistancePortable(const void* a, const void* b, const void* dimension);
float HalfDotDistancePortable(const void* a, const void* b, const void* dimension);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_DOT_DISTANCE_H_
