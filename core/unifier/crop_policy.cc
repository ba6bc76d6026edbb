#include "core/unifier/crop_policy.h"

#include "absl/strings/str_cat.h"

namespace faceserve {

bool CropNeedsLandmarks68(const CropConfig& crop, bool detector_gives_5) {
  using Method = CropConfig::Method;
  return (crop.method == Method::kBox && crop.box != CropConfig::BoxSource::kDetection) ||
         (crop.method == Method::kSimilarity && !detector_gives_5);
}

absl::StatusOr<FaceCrop> CropForPredictor(const cv::Mat& image, bool whole_image, const Face& face,
                                          const CropConfig& crop, int size,
                                          const std::string& predictor) {
  using Method = CropConfig::Method;
  if (whole_image) {
    // A face chip: already cropped (and, for chips, aligned) as the model expects.
    if (crop.method == Method::kSimilarity) return ResizeWholeImage(image, size);
    return CropBoxToSquare(image, face.detection.box, size, crop.scale);
  }
  switch (crop.method) {
    case Method::kShiftedBox:
      return CropScaledBoxShifted(image, face.detection.box, size, crop.scale);
    case Method::kSquareBox:
      return CropSquareBox(image, face.detection.box, size, crop.scale);
    case Method::kSimilarity:
      if (face.landmarks5.size() != 5) {
        return absl::InternalError(
            absl::StrCat("predictor '", predictor, "' needs 5 landmarks, none were found"));
      }
      return AlignBySimilarity(image, face.landmarks5, size, crop.padding);
    case Method::kBox:
      break;
  }
  Box box = face.detection.box;
  if (face.landmarks68.size() == 68) {
    if (crop.box == CropConfig::BoxSource::kLandmarks) box = BoxFromLandmarks68(face.landmarks68);
    if (crop.box == CropConfig::BoxSource::kLandmarksDlib) {
      box = DlibBoxFromLandmarks68(face.landmarks68, image.cols, image.rows);
    }
  }
  return CropBoxToSquare(image, box, size, crop.scale);
}

}  // namespace faceserve
