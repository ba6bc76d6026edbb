// The one mapping between absl::Status (core/, and the clients' code) and
// grpc::Status (the wire), used by the server and by the clients alike.
//
// The codes are the same numbers on both sides (both follow google.rpc.Code).
// Every failure also carries a google.rpc.Status in the
// grpc-status-details-bin trailer with one google.rpc.ErrorInfo: the
// status's ErrorReason (core/error_reason.h), domain "faceserve", and its
// metadata; FromGrpcStatus reads it back, so a client's absl::Status has the
// server's reason.
#ifndef FACESERVE_PROTO_RPC_STATUS_H_
#define FACESERVE_PROTO_RPC_STATUS_H_

#include <cstddef>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace faceserve {

// ErrorInfo.domain of every faceserve error.
inline constexpr absl::string_view kErrorDomain = "faceserve";

// Messages longer than kMaxStatusMessageBytes are cut there (ending in
// "..."): the message travels in the grpc-message header, and clients refuse
// response headers beyond a few KiB, which would turn the real code into
// RESOURCE_EXHAUSTED on the client's side.
inline constexpr size_t kMaxStatusMessageBytes = 1024;

// `message` cut to kMaxStatusMessageBytes without splitting a UTF-8 sequence.
std::string BoundedMessage(absl::string_view message);

// The wire status: same code (UNKNOWN for a code outside google.rpc.Code),
// the bounded message, and the ErrorInfo details.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The inverse: code, message, and the ErrorInfo's reason and metadata when
// the details carry one.
absl::Status FromGrpcStatus(const grpc::Status& status);

// "INVALID_ARGUMENT", "UNAVAILABLE", ... for a code.
std::string StatusCodeName(absl::StatusCode code);

}  // namespace faceserve

#endif  // FACESERVE_PROTO_RPC_STATUS_H_
