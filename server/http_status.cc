#include "server/http_status.h"

#include <google/protobuf/util/json_util.h>

#include "google/rpc/error_details.pb.h"  // links ErrorInfo for the Any in details
#include "google/rpc/status.pb.h"

namespace faceserve {

int HttpStatusFromGrpcCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    default:  // UNKNOWN, INTERNAL, DATA_LOSS
      return 500;
  }
}

std::string HttpErrorBody(const grpc::Status& status) {
  google::rpc::Status body;
  if (status.error_details().empty() || !body.ParseFromString(status.error_details())) {
    body.Clear();
  }
  body.set_code(static_cast<int>(status.error_code()));
  body.set_message(status.error_message());
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(body, &json).ok()) {
    // Details of a type this build cannot print: code and message alone.
    body.clear_details();
    json.clear();
    (void)google::protobuf::util::MessageToJsonString(body, &json);
  }
  return json;
}

}  // namespace faceserve
