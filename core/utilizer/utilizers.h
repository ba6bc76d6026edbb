// The utilizer stage: what is computed from a request's faces after the
// predictors, on the request's image (facetorch's utilizers): head poses,
// face-crop JPEGs, sharpness, the annotated image.
#ifndef FACESERVE_CORE_UTILIZER_UTILIZERS_H_
#define FACESERVE_CORE_UTILIZER_UTILIZERS_H_

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace faceserve {

struct UtilizerRequest {
  bool head_pose = false;        // utilizers.head_pose: from 68 landmarks, and from a mesh
  bool face_crops = false;       // AnalyzeRequest.return_face_crops
  bool annotated_image = false;  // AnalyzeRequest.return_annotated_image
  bool sharpness = false;        // Face::sharpness (streams' best shots)
};

struct UtilizerResult {
  bool ran = false;            // some utilizer did work (its time is worth reporting)
  std::string annotated_jpeg;  // when asked for
};

// Runs the requested utilizers on `faces` (found in the RGB `image`), filling
// their head poses, crop JPEGs and sharpness. A pose that cannot be fitted is left out,
// not an error; an image that cannot be encoded is INTERNAL.
absl::StatusOr<UtilizerResult> RunUtilizers(const cv::Mat& image, const UtilizerRequest& request,
                                            std::vector<Face>* faces);

}  // namespace faceserve

#endif  // FACESERVE_CORE_UTILIZER_UTILIZERS_H_
