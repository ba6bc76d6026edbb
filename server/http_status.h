// The HTTP face of a gRPC status (issue 31): grpc-gateway's table of HTTP
// statuses by gRPC code (runtime/errors.go, HTTPStatusFromCode), and the
// error body, google.rpc.Status in protobuf's JSON mapping:
//
//   {"code": 3, "message": "...", "details": [{"@type":
//    "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IMAGE_EMPTY",
//    "domain": "faceserve", "metadata": {...}}]}
//
// so that an HTTP client branches on the same reasons as a gRPC one.
#ifndef FACESERVE_SERVER_HTTP_STATUS_H_
#define FACESERVE_SERVER_HTTP_STATUS_H_

#include <string>

#include <grpcpp/grpcpp.h>

namespace faceserve {

// 200 for OK, 400 INVALID_ARGUMENT / FAILED_PRECONDITION / OUT_OF_RANGE,
// 401, 403, 404, 409 ALREADY_EXISTS / ABORTED, 429 RESOURCE_EXHAUSTED, 499
// CANCELLED, 501, 503, 504, 500 for the rest.
int HttpStatusFromGrpcCode(grpc::StatusCode code);

// The JSON error body of `status` (not OK): its google.rpc.Status from the
// error details when the server sent them, else code and message alone.
std::string HttpErrorBody(const grpc::Status& status);

}  // namespace faceserve

#endif  // FACESERVE_SERVER_HTTP_STATUS_H_
