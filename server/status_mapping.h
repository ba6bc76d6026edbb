// The one place where a core absl::Status becomes a grpc::Status. The gRPC
// and absl canonical codes are the same numbers (both follow
// google.rpc.Code), so the mapping is 1:1; the message is kept verbatim up
// to kMaxStatusMessageBytes.
#ifndef FACESERVE_SERVER_STATUS_MAPPING_H_
#define FACESERVE_SERVER_STATUS_MAPPING_H_

#include <cstddef>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace faceserve {

// Messages longer than kMaxStatusMessageBytes are cut there (ending in
// "..."): the message travels in the grpc-message header, and clients refuse
// response headers beyond a few KiB, which would turn the real code into
// RESOURCE_EXHAUSTED on the client's side.
inline constexpr size_t kMaxStatusMessageBytes = 1024;
grpc::Status ToGrpcStatus(const absl::Status& status);

// `message` cut to kMaxStatusMessageBytes as ToGrpcStatus does.
std::string BoundedMessage(absl::string_view message);

// The inverse, for clients and tests.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_STATUS_MAPPING_H_
