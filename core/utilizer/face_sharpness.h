// How sharp a face is in its image: the variance of the Laplacian of the
// face box's grey pixels, resampled to 64x64 first so that the value does
// not grow or shrink with the face's size (a sharp face is a sharp face at
// any distance). Motion blur and defocus lower it; streams use it to pick a
// track's best shot and to weigh its identity evidence (issue 32).
#ifndef FACESERVE_CORE_UTILIZER_FACE_SHARPNESS_H_
#define FACESERVE_CORE_UTILIZER_FACE_SHARPNESS_H_

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace faceserve {

// The side of the square the face box is resampled to before measuring.
inline constexpr int kSharpnessSide = 64;

// `box`'s sharpness in the RGB `image` (the part inside the image).
// INVALID_ARGUMENT for a box that does not overlap the image.
absl::StatusOr<float> FaceSharpness(const cv::Mat& image, const Box& box);

}  // namespace faceserve

#endif  // FACESERVE_CORE_UTILIZER_FACE_SHARPNESS_H_
