// The ErrorInfo reason of an HTTP API error body (google.rpc.Status as
// JSON, server/http_status.h), for tests of the HTTP side.
#ifndef FACESERVE_TESTS_TESTING_HTTP_ERROR_REASON_H_
#define FACESERVE_TESTS_TESTING_HTTP_ERROR_REASON_H_

#include <string>

#include <google/protobuf/util/json_util.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace faceserve::testing {

// The reason; "" when the body has none, "unparsable: <body>" when it is
// not a google.rpc.Status.
inline std::string ReasonOf(const std::string& body) {
  google::rpc::Status status;
  if (!google::protobuf::util::JsonStringToMessage(body, &status).ok()) return "unparsable: " + body;
  for (const auto& any : status.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

}  // namespace faceserve::testing

#endif  // FACESERVE_TESTS_TESTING_HTTP_ERROR_REASON_H_
