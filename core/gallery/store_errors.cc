#include "core/gallery/store_errors.h"

#include "absl/strings/str_cat.h"
#include "core/error_reason.h"

namespace faceserve {

absl::Status GalleryNotFoundError(const std::string& gallery) {
  return WithReason(absl::NotFoundError(absl::StrCat("no gallery '", gallery, "'")),
                    ErrorReason::kGalleryNotFound);
}

absl::Status GalleryExistsError(const std::string& gallery) {
  return WithReason(
      absl::AlreadyExistsError(absl::StrCat("gallery '", gallery, "' already exists")),
      ErrorReason::kGalleryExists);
}

absl::Status SubjectNotFoundError(const std::string& gallery, const std::string& subject) {
  return WithReason(
      absl::NotFoundError(absl::StrCat("no subject '", subject, "' in gallery '", gallery, "'")),
      ErrorReason::kSubjectNotFound);
}

absl::Status FaceNotFoundError(const std::string& gallery, int64_t face_id) {
  return WithReason(
      absl::NotFoundError(absl::StrCat("no face ", face_id, " in gallery '", gallery, "'")),
      ErrorReason::kFaceNotFound);
}

absl::Status IdempotencyKeyReusedError(const std::string& key) {
  return WithReason(absl::AlreadyExistsError(absl::StrCat(
                        "idempotency key '", key, "' was used for a different Enroll request")),
                    ErrorReason::kIdempotencyKeyReused);
}

absl::Status CheckEnrollable(const std::string& gallery, const DescriptorModel& gallery_model,
                             const DescriptorModel& model,
                             const std::vector<std::vector<float>>& embeddings) {
  if (model.id != gallery_model.id || model.dimension != gallery_model.dimension) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "gallery '", gallery, "' holds embeddings of ", gallery_model.id, " (",
            gallery_model.dimension, " values), not of ", model.id, " (", model.dimension, ")")),
        ErrorReason::kDescriptorMismatch);
  }
  for (size_t i = 0; i < embeddings.size(); ++i) {
    if (static_cast<int>(embeddings[i].size()) != model.dimension) {
      return WithReason(absl::InvalidArgumentError(absl::StrCat(
                            "embedding ", i, " has ", embeddings[i].size(), " values, the ",
                            "gallery's model makes ", model.dimension)),
                        ErrorReason::kInvalidField, {{"field", absl::StrCat("embeddings.", i)}});
    }
  }
  return absl::OkStatus();
}

IndexKind IndexKindFromName(const std::string& name) {
  return name == "exact"         ? IndexKind::kExact
         : name == "approximate" ? IndexKind::kApproximate
                                 : IndexKind::kAuto;
}

}  // namespace faceserve
