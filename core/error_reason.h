// ErrorReason: the stable, machine-readable reason every failure carries, so
// that clients branch on it and never on message text. It travels as an
// absl::Status payload inside core/ and becomes a google.rpc.ErrorInfo
// (reason, domain "faceserve", metadata) at the gRPC edge
// (proto/rpc_status.h); HTTP bodies and Python exceptions carry the same
// names. Names never change once published; new ones may be added. The
// table of which RPC returns which is in proto/faceserve/v1/face_service.proto.
#ifndef FACESERVE_CORE_ERROR_REASON_H_
#define FACESERVE_CORE_ERROR_REASON_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace faceserve {

enum class ErrorReason {
  // The request.
  kInvalidField,             // INVALID_ARGUMENT: a field's value; metadata "field"
  kImageEmpty,               // INVALID_ARGUMENT: no image bytes
  kUnsupportedFormat,        // INVALID_ARGUMENT: not JPEG, PNG, WebP or BMP
  kImageUndecodable,         // INVALID_ARGUMENT: a known format, but corrupt or truncated
  kInvalidRawImage,          // INVALID_ARGUMENT: raw pixels that disagree with their size
  kImageTooLarge,            // RESOURCE_EXHAUSTED: over reader.max_bytes or max_pixels
  kUnknownPredictor,         // INVALID_ARGUMENT: a predictor name not configured
  kNotAnEmbeddingPredictor,  // INVALID_ARGUMENT: the predictor makes no embedding
  kEmbeddingSizeMismatch,    // INVALID_ARGUMENT: an embedding of the wrong length
  // The outcome.
  kNoFace,  // NOT_FOUND: Verify found no face in an image
  // Galleries (core/gallery).
  kGalleryNotFound,     // NOT_FOUND: no gallery of that name
  kGalleryExists,       // ALREADY_EXISTS: a gallery of that name exists
  kSubjectNotFound,     // NOT_FOUND: no such subject in the gallery
  kFaceNotFound,        // NOT_FOUND: no such face in the gallery
  kDescriptorMismatch,  // FAILED_PRECONDITION: the gallery holds another model's embeddings
  kStorageError,        // INTERNAL / DATA_LOSS: the gallery database failed
  kEnrollRejected,      // FAILED_PRECONDITION: every input of an Enroll failed the quality gate
  kIdempotencyKeyReused,  // ALREADY_EXISTS: an idempotency key sent with another request
  // API keys (core/auth).
  kApiKeyMissing,     // UNAUTHENTICATED: auth.required and no authorization header
  kApiKeyInvalid,     // UNAUTHENTICATED: malformed, unknown or revoked key
  kScopeNotGranted,   // PERMISSION_DENIED: the key lacks the scope; metadata "scope"
  kGalleryNotGranted,  // PERMISSION_DENIED: the key lacks the gallery; metadata "gallery"
  kApiKeyNotFound,    // NOT_FOUND: RevokeApiKey of an id that is not a key
  kKeyManagementUnavailable,  // FAILED_PRECONDITION: keys off, no store, or a file key
  // The server.
  kModelNotConfigured,  // FAILED_PRECONDITION: no model for what was asked
  kModelsNotReady,      // UNAVAILABLE: loading, preheating, or failed to load
  kShuttingDown,        // UNAVAILABLE: draining after SIGTERM
  kTooManyCalls,        // RESOURCE_EXHAUSTED: over server.max_concurrent_calls
  kTooManyStreams,      // RESOURCE_EXHAUSTED: server.max_streams streams open
  kStreamIdle,          // DEADLINE_EXCEEDED: no message on a stream for the idle timeout
  kQueueFull,           // RESOURCE_EXHAUSTED: a model's batch queue is full
  kDeadlineExceeded,    // DEADLINE_EXCEEDED: the call's deadline passed
  kCancelled,           // CANCELLED: the client went away
  kInternal,            // INTERNAL, UNKNOWN and codes without a reason of their own
};

// The published name, e.g. "NO_FACE".
absl::string_view ReasonName(ErrorReason reason);
// The reason called `name`, if there is one.
std::optional<ErrorReason> ReasonFromName(absl::string_view name);

// Extra facts for the client, e.g. {"field", "image.raw.width"}.
using ErrorMetadata = std::map<std::string, std::string>;

// `status` carrying `reason` (and `metadata`); OK stays OK. Replaces a
// reason set before.
absl::Status WithReason(absl::Status status, ErrorReason reason, ErrorMetadata metadata = {});

// The same with the reason by name: for a client that reads a reason from a
// newer server, which this build may not know.
absl::Status WithReasonName(absl::Status status, absl::string_view name,
                            const ErrorMetadata& metadata = {});

// The reason `status` carries, or the default for its code when none was set
// (CANCELLED, DEADLINE_EXCEEDED; INTERNAL for the rest, and for names this
// build does not know). Meaningless for OK.
ErrorReason ReasonOf(const absl::Status& status);
// Its name as carried (a name this build does not know stays as it is).
std::string ReasonNameOf(const absl::Status& status);
// Whether a reason was set explicitly (not defaulted from the code).
bool HasReason(const absl::Status& status);

// `status` with `prefix` before its message, same code, reason and metadata
// (e.g. the file a client was reading).
absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix);
ErrorMetadata MetadataOf(const absl::Status& status);

}  // namespace faceserve

#endif  // FACESERVE_CORE_ERROR_REASON_H_
