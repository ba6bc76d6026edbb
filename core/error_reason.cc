#include "core/error_reason.h"

#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace faceserve {
namespace {

// The payload: the reason's name, then one "key=value" line per metadata
// entry. Keys and values are ours (field paths, numbers): no newlines.
constexpr absl::string_view kPayloadUrl = "type.faceserve/faceserve.ErrorReason";

struct Named {
  ErrorReason reason;
  absl::string_view name;
};
constexpr Named kNames[] = {
    {ErrorReason::kInvalidField, "INVALID_FIELD"},
    {ErrorReason::kImageEmpty, "IMAGE_EMPTY"},
    {ErrorReason::kUnsupportedFormat, "UNSUPPORTED_FORMAT"},
    {ErrorReason::kImageUndecodable, "IMAGE_UNDECODABLE"},
    {ErrorReason::kInvalidRawImage, "INVALID_RAW_IMAGE"},
    {ErrorReason::kImageTooLarge, "IMAGE_TOO_LARGE"},
    {ErrorReason::kUnknownPredictor, "UNKNOWN_PREDICTOR"},
    {ErrorReason::kNotAnEmbeddingPredictor, "NOT_AN_EMBEDDING_PREDICTOR"},
    {ErrorReason::kEmbeddingSizeMismatch, "EMBEDDING_SIZE_MISMATCH"},
    {ErrorReason::kNoFace, "NO_FACE"},
    {ErrorReason::kGalleryNotFound, "GALLERY_NOT_FOUND"},
    {ErrorReason::kGalleryExists, "GALLERY_EXISTS"},
    {ErrorReason::kSubjectNotFound, "SUBJECT_NOT_FOUND"},
    {ErrorReason::kFaceNotFound, "FACE_NOT_FOUND"},
    {ErrorReason::kDescriptorMismatch, "DESCRIPTOR_MISMATCH"},
    {ErrorReason::kStorageError, "STORAGE_ERROR"},
    {ErrorReason::kEnrollRejected, "ENROLL_REJECTED"},
    {ErrorReason::kIdempotencyKeyReused, "IDEMPOTENCY_KEY_REUSED"},
    {ErrorReason::kApiKeyMissing, "API_KEY_MISSING"},
    {ErrorReason::kApiKeyInvalid, "API_KEY_INVALID"},
    {ErrorReason::kScopeNotGranted, "SCOPE_NOT_GRANTED"},
    {ErrorReason::kGalleryNotGranted, "GALLERY_NOT_GRANTED"},
    {ErrorReason::kApiKeyNotFound, "API_KEY_NOT_FOUND"},
    {ErrorReason::kKeyManagementUnavailable, "KEY_MANAGEMENT_UNAVAILABLE"},
    {ErrorReason::kModelNotConfigured, "MODEL_NOT_CONFIGURED"},
    {ErrorReason::kModelsNotReady, "MODELS_NOT_READY"},
    {ErrorReason::kShuttingDown, "SHUTTING_DOWN"},
    {ErrorReason::kTooManyCalls, "TOO_MANY_CALLS"},
    {ErrorReason::kTooManyStreams, "TOO_MANY_STREAMS"},
    {ErrorReason::kStreamIdle, "STREAM_IDLE"},
    {ErrorReason::kQueueFull, "QUEUE_FULL"},
    {ErrorReason::kDeadlineExceeded, "DEADLINE_EXCEEDED"},
    {ErrorReason::kCancelled, "CANCELLED"},
    {ErrorReason::kInternal, "INTERNAL"},
};

}  // namespace

absl::string_view ReasonName(ErrorReason reason) {
  for (const Named& n : kNames) {
    if (n.reason == reason) return n.name;
  }
  return "INTERNAL";
}

std::optional<ErrorReason> ReasonFromName(absl::string_view name) {
  for (const Named& n : kNames) {
    if (n.name == name) return n.reason;
  }
  return std::nullopt;
}

absl::Status WithReason(absl::Status status, ErrorReason reason, ErrorMetadata metadata) {
  return WithReasonName(std::move(status), ReasonName(reason), metadata);
}

absl::Status WithReasonName(absl::Status status, absl::string_view name,
                            const ErrorMetadata& metadata) {
  if (status.ok()) return status;
  std::string payload(name);
  for (const auto& [key, value] : metadata) payload += "\n" + key + "=" + value;
  status.SetPayload(kPayloadUrl, absl::Cord(payload));
  return status;
}

std::string ReasonNameOf(const absl::Status& status) {
  if (auto payload = status.GetPayload(kPayloadUrl)) {
    const std::string text(*payload);
    return text.substr(0, text.find('\n'));
  }
  return std::string(ReasonName(ReasonOf(status)));
}

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(prefix, status.message()));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

bool HasReason(const absl::Status& status) { return status.GetPayload(kPayloadUrl).has_value(); }

ErrorReason ReasonOf(const absl::Status& status) {
  if (auto payload = status.GetPayload(kPayloadUrl)) {
    const std::string text(*payload);
    const absl::string_view name = absl::string_view(text).substr(0, text.find('\n'));
    if (std::optional<ErrorReason> r = ReasonFromName(name)) return *r;
  }
  switch (status.code()) {
    case absl::StatusCode::kCancelled:
      return ErrorReason::kCancelled;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorReason::kDeadlineExceeded;
    default:
      return ErrorReason::kInternal;
  }
}

ErrorMetadata MetadataOf(const absl::Status& status) {
  ErrorMetadata metadata;
  auto payload = status.GetPayload(kPayloadUrl);
  if (!payload) return metadata;
  const std::string text(*payload);
  std::vector<absl::string_view> lines = absl::StrSplit(absl::string_view(text), '\n');
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t eq = lines[i].find('=');
    if (eq == absl::string_view::npos) continue;
    metadata.emplace(std::string(lines[i].substr(0, eq)), std::string(lines[i].substr(eq + 1)));
  }
  return metadata;
}

}  // namespace faceserve
