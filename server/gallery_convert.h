// Conversions between faceserve.v1's gallery messages
// (gallery_service.proto, and Analyze's identify options) and
// core/identification's types. Pure functions, thread-safe, no gRPC.
//
// Requests are checked for what the transport can check: names (1 to 256
// bytes, no control characters), metadata (at most 64 entries, keys as
// names, values up to 4096 bytes), counts, top_k, thresholds, page sizes;
// INVALID_ARGUMENT / INVALID_FIELD naming the field otherwise.
#ifndef FACESERVE_SERVER_GALLERY_CONVERT_H_
#define FACESERVE_SERVER_GALLERY_CONVERT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/identification/identifier.h"
#include "faceserve/v1/gallery_service.pb.h"

namespace faceserve {

inline constexpr int kMaxTopK = 100;
inline constexpr int kMaxEnrollInputs = 1000;
inline constexpr int kMaxEnrollImages = 16;
inline constexpr int kMaxSearchQueries = 256;
inline constexpr int kMaxPageSize = 1000;

// FAILED_PRECONDITION: this server has no galleries (gallery.backend: none).
absl::Status GalleriesOff();

absl::StatusOr<IdentifyOptions> IdentifyOptionsFromProto(const v1::IdentifyOptions& options,
                                                         absl::string_view field);
void IdentityToProto(const Identity& identity, v1::Identity* out);
void GalleryInfoToProto(const GalleryInfo& info, v1::Gallery* out);
void SubjectToProto(const SubjectInfo& subject, v1::Subject* out);

// Requests that need only their fields checked come back as they are.
IndexKind IndexKindFromProto(v1::GalleryIndex index);
absl::StatusOr<v1::CreateGalleryRequest> CheckCreateGallery(const v1::CreateGalleryRequest& r);
absl::StatusOr<v1::DeleteGalleryRequest> CheckDeleteGallery(const v1::DeleteGalleryRequest& r);
absl::StatusOr<v1::ListGalleriesRequest> CheckListGalleries(const v1::ListGalleriesRequest& r);
absl::StatusOr<v1::ListSubjectsRequest> CheckListSubjects(const v1::ListSubjectsRequest& r);
absl::StatusOr<v1::GetSubjectRequest> CheckGetSubject(const v1::GetSubjectRequest& r);
absl::StatusOr<Metadata> CheckUpdateSubject(const v1::UpdateSubjectRequest& r);
absl::StatusOr<v1::DeleteFaceRequest> CheckDeleteFace(const v1::DeleteFaceRequest& r);
absl::StatusOr<v1::DeleteSubjectRequest> CheckDeleteSubject(const v1::DeleteSubjectRequest& r);

struct EnrollCall {
  EnrollRequest request;
  // Set when the request has an idempotency key (serialize: the response's
  // bytes as stored, EnrollResponseFromStored reads them back).
  std::optional<Identifier::Idempotency> idempotency;
};
absl::StatusOr<EnrollCall> EnrollCallFromProto(const v1::EnrollRequest& request);
void EnrollOutcomeToProto(const EnrollOutcome& outcome, const std::string& subject,
                          v1::EnrollResponse* out);
// A stored response, marked replayed. INTERNAL when the bytes do not parse.
absl::Status EnrollResponseFromStored(const std::string& bytes, v1::EnrollResponse* out);

struct IdentifyCall {
  ImageInput image;
  AnalyzeOptions options;  // detection limits; predictors set by the Identifier
  IdentifyOptions identify;
};
absl::StatusOr<IdentifyCall> IdentifyCallFromProto(const v1::IdentifyRequest& request);
void IdentifiedAnalysisToProto(const IdentifiedAnalysis& result, const std::string& gallery,
                               v1::IdentifyResponse* out);

struct SearchCall {
  std::vector<std::vector<float>> queries;
  IdentifyOptions identify;
};
absl::StatusOr<SearchCall> SearchCallFromProto(const v1::SearchRequest& request);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_GALLERY_CONVERT_H_
