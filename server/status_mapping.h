// The one place where a core absl::Status becomes a grpc::Status. The gRPC
// and absl canonical codes are the same numbers (both follow
// google.rpc.Code), so the mapping is 1:1; the message is kept verbatim.
#ifndef FACESERVE_SERVER_STATUS_MAPPING_H_
#define FACESERVE_SERVER_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace faceserve {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The inverse, for clients and tests.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_STATUS_MAPPING_H_
