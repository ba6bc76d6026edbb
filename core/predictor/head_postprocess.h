// Turns one model output of one face into a HeadResult, as the head's
// configuration says: softmax + labels, sigmoid + threshold, named values,
// L2-normalised embedding, or landmarks mapped back to image pixels.
// Pure functions, no model, no OpenCV.
#ifndef FACESERVE_CORE_PREDICTOR_HEAD_POSTPROCESS_H_
#define FACESERVE_CORE_PREDICTOR_HEAD_POSTPROCESS_H_

#include <array>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config/config.h"
#include "core/tensor.h"
#include "core/types.h"

namespace faceserve {

// Affine map from crop pixels to image pixels: x' = a*x + b*y + c,
// y' = d*x + e*y + f, stored {a, b, c, d, e, f}.
using CropToImage = std::array<float, 6>;

// `output` is this face's slice of the model output (no batch dimension).
// `crop_size` is the side of the square crop the model saw (landmarks are
// normalised to it). INTERNAL when the output does not fit the head (e.g. a
// label count that differs from the number of classes).
absl::StatusOr<HeadResult> PostprocessHead(const HeadConfig& head, const Tensor& output,
                                           const CropToImage& crop_to_image, int crop_size);

// Numerically stable softmax.
std::vector<float> Softmax(const std::vector<float>& logits);

// Cosine similarity; 0 when either vector is zero. Precondition: same size.
float CosineSimilarity(const std::vector<float>& a, const std::vector<float>& b);

// Scales to unit length (unchanged when zero).
void L2Normalize(std::vector<float>* v);

}  // namespace faceserve

#endif  // FACESERVE_CORE_PREDICTOR_HEAD_POSTPROCESS_H_
