// The utilizer stage: what is made from the analysed faces for the client --
// JPEG encoding, an annotated copy of the image, face crops. Stateless
// functions, thread-safe.
#ifndef FACESERVE_CORE_UTILIZER_ANNOTATOR_H_
#define FACESERVE_CORE_UTILIZER_ANNOTATOR_H_

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace faceserve {

// JPEG bytes of an RGB image (CV_8UC3; CV_32FC3 is saturated to 8 bits),
// encoded by jpeg_encoder.h (the same bytes as OpenCV's imencode).
// INVALID_ARGUMENT for an empty or non-3-channel image or a quality outside
// 1..100; INTERNAL when libjpeg fails.
absl::StatusOr<std::string> EncodeJpeg(const cv::Mat& rgb, int quality = 90);

// One line per face summarising its predictions: the top label and score of
// each classification head, active labels of multi-label heads, rounded
// regression values ("age" as "31y"), joined with " | ", e.g.
// "happy 0.97 | male 0.99 | 31y". Empty when there are no predictions.
std::string FaceLabel(const Face& face);

// A copy of the image with, per face, its box, its 5 and 68 landmarks and its
// FaceLabel, line widths and text scaled with the image size; JPEG bytes.
absl::StatusOr<std::string> DrawAnnotatedJpeg(const cv::Mat& rgb, const std::vector<Face>& faces);

// The box (rounded outward, clipped to the image) as JPEG bytes.
// INVALID_ARGUMENT when the box does not overlap the image.
absl::StatusOr<std::string> FaceCropJpeg(const cv::Mat& rgb, const Box& box);

}  // namespace faceserve

#endif  // FACESERVE_CORE_UTILIZER_ANNOTATOR_H_
