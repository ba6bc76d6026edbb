// The errors every GalleryStore gives alike (gallery_store.h), with their
// ErrorReasons, and the checks an enrollment passes before any write: one
// wording for the SQLite and the PostgreSQL store.
#ifndef FACESERVE_CORE_GALLERY_STORE_ERRORS_H_
#define FACESERVE_CORE_GALLERY_STORE_ERRORS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/gallery/gallery_store.h"

namespace faceserve {

absl::Status GalleryNotFoundError(const std::string& gallery);
absl::Status GalleryExistsError(const std::string& gallery);
absl::Status SubjectNotFoundError(const std::string& gallery, const std::string& subject);
absl::Status FaceNotFoundError(const std::string& gallery, int64_t face_id);
absl::Status IdempotencyKeyReusedError(const std::string& key);

// DESCRIPTOR_MISMATCH when `model` is not the gallery's, INVALID_FIELD
// ("embeddings.i") for an embedding of another length; OK otherwise.
absl::Status CheckEnrollable(const std::string& gallery, const DescriptorModel& gallery_model,
                             const DescriptorModel& model,
                             const std::vector<std::vector<float>>& embeddings);

// IndexKind from its stored name (IndexKindName); kAuto for anything else.
IndexKind IndexKindFromName(const std::string& name);

}  // namespace faceserve

#endif  // FACESERVE_CORE_GALLERY_STORE_ERRORS_H_
