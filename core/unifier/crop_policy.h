// The crop policy: which of face_crop.h's cuts a predictor's model gets for
// one face, chosen by its configuration (predictors.N.crop) and by what the
// face has (5 landmarks from the detector, 68 from a landmarks predictor).
#ifndef FACESERVE_CORE_UNIFIER_CROP_POLICY_H_
#define FACESERVE_CORE_UNIFIER_CROP_POLICY_H_

#include <string>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/config/config.h"
#include "core/types.h"
#include "core/unifier/face_crop.h"

namespace faceserve {

// Whether a predictor with `crop` has to wait for the 68 landmarks of a
// landmarks predictor (the second phase): it cuts from them, or aligns by 5
// landmarks that the detector does not give (`detector_gives_5`).
bool CropNeedsLandmarks68(const CropConfig& crop, bool detector_gives_5);

// The `size` x `size` input for `face` in the RGB `image`. `whole_image`: the
// image is already a face chip (Embed/Verify with WHOLE_IMAGE), so it is
// resized, not cut. INTERNAL when the face lacks the landmarks the method
// needs (the pipeline's phases should have made them); `predictor` names the
// caller in that message.
absl::StatusOr<FaceCrop> CropForPredictor(const cv::Mat& image, bool whole_image, const Face& face,
                                          const CropConfig& crop, int size,
                                          const std::string& predictor);

}  // namespace faceserve

#endif  // FACESERVE_CORE_UNIFIER_CROP_POLICY_H_
